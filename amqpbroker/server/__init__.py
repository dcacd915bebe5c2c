"""The only asyncio code: listeners, the transport, timers, shutdown."""
