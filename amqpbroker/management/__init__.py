"""Read-only views of the broker model (for tests today; the HTTP API and metrics later)."""
