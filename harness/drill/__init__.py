"""Drills: what to run (model, loader) and how to run it safely (runner)."""
