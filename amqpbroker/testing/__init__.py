"""Helpers for testing applications against amqpbroker (the pytest plugin lives here)."""
