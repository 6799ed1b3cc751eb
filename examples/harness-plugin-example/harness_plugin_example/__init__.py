"""An example cs-harness plugin: an ``apdex`` check, a ``csv`` report format, a ``sawtooth`` shape.

Nothing here is imported by the harness until one of its registries is first
read; see the entry points in pyproject.toml and docs/plugins.md.
"""
