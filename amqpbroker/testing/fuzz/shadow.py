"""A shadow broker the session writer consults, to write like a client that reads replies.

A blind writer keeps using a channel the broker closed over an error, and everything it
writes there afterwards is ignored.  Most seeded sessions are written attentively instead:
each command is also run on a broker of the writer's own, and a channel that broker closed
gets its channel.close-ok and is not used again (the writer opens fresh ones), so sessions
reach the deeper states the mutators then break.
"""

from __future__ import annotations

from amqpbroker.session.channel import ChannelState
from amqpbroker.session.connection import ConnectionSession
from amqpbroker.testing.harness import SessionBroker

from .wire import Piece, serialise


class ShadowSession:
    """The session written so far, run on a broker of its own."""

    def __init__(self) -> None:
        broker = SessionBroker()
        self.session = ConnectionSession(broker.state, broker.access, peer="127.0.0.1:40001")
        self._fed = 0
        self.lost = False  # it raised: the real run reports that; stop consulting it

    def catch_up(self, pieces: list[Piece]) -> None:
        data = serialise(pieces[self._fed :])
        self._fed = len(pieces)
        if self.lost:
            return
        try:
            self.session.receive_data(data)
            self.session.data_to_send()
        except Exception:
            self.lost = True

    @property
    def over(self) -> bool:
        """The broker closed the connection: nothing written after matters."""
        return not self.lost and (self.session.closed or self.session.closing)

    def closed_by_broker(self, channel: int) -> bool:
        chan = self.session.channels.get(channel)
        return not self.lost and chan is not None and chan.state is ChannelState.CLOSING
