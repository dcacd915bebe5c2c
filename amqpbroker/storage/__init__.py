"""Durable state on disk: the only file I/O in the broker, behind ``core.ports``."""
