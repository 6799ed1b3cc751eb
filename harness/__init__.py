"""Resilience and load-testing harness for customer-service systems."""
