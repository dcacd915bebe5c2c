"""AMQP errors that carry their reply code.

Lower layers raise these with RabbitMQ's wording (``NotFound("no queue 'q' in vhost '/'")``);
the session layer turns them into ``channel.close`` or ``connection.close`` with the class and
method id of the method that failed.  ``reply_text`` renders RabbitMQ's
``"NOT_FOUND - no queue 'q' in vhost '/'"`` form.
"""

from __future__ import annotations

from typing import NamedTuple


class Reply(NamedTuple):
    """A reply code and the name RabbitMQ puts before the text."""

    code: int
    name: str


# basic.return's reply when no queue took a mandatory message: a reply, not an error.
NO_ROUTE = Reply(312, "NO_ROUTE")


class SilentClose(Exception):
    """Drop the connection without a reply (what RabbitMQ does during the early handshake)."""


class AMQPError(Exception):
    """Base of every error that becomes a channel.close or connection.close."""

    reply_code: int = 541
    reply_name: str = "INTERNAL_ERROR"
    connection_level: bool = True

    def __init__(self, message: str, class_id: int = 0, method_id: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.class_id = class_id
        self.method_id = method_id

    @property
    def reply_text(self) -> str:
        return f"{self.reply_name} - {self.message}" if self.message else self.reply_name


class ChannelError(AMQPError):
    """An error that closes only the channel it happened on."""

    connection_level = False


# Channel-level errors (spec: soft errors)
class ContentTooLarge(ChannelError):
    reply_code, reply_name = 311, "CONTENT_TOO_LARGE"


class AccessRefused(ChannelError):
    reply_code, reply_name = 403, "ACCESS_REFUSED"


class NotFound(ChannelError):
    reply_code, reply_name = 404, "NOT_FOUND"


class ResourceLocked(ChannelError):
    reply_code, reply_name = 405, "RESOURCE_LOCKED"


class PreconditionFailed(ChannelError):
    reply_code, reply_name = 406, "PRECONDITION_FAILED"


# Connection-level errors (spec: hard errors)
class ConnectionForced(AMQPError):
    reply_code, reply_name = 320, "CONNECTION_FORCED"


class InvalidPath(AMQPError):
    reply_code, reply_name = 402, "INVALID_PATH"


class ConnectionAccessRefused(AMQPError):
    """403 on the connection: failed authentication or vhost access."""

    reply_code, reply_name = 403, "ACCESS_REFUSED"


class FrameError(AMQPError):
    reply_code, reply_name = 501, "FRAME_ERROR"


class SyntaxError_(AMQPError):  # noqa: N801 - mirrors the AMQP constant name
    reply_code, reply_name = 502, "SYNTAX_ERROR"


class CommandInvalid(AMQPError):
    reply_code, reply_name = 503, "COMMAND_INVALID"


class ChannelErrorHard(AMQPError):
    """504 CHANNEL_ERROR: a connection-level error about channel numbering/state."""

    reply_code, reply_name = 504, "CHANNEL_ERROR"


class UnexpectedFrame(AMQPError):
    reply_code, reply_name = 505, "UNEXPECTED_FRAME"


class ResourceError(AMQPError):
    reply_code, reply_name = 506, "RESOURCE_ERROR"


class NotAllowed(AMQPError):
    reply_code, reply_name = 530, "NOT_ALLOWED"


class NotImplemented_(AMQPError):  # noqa: N801 - mirrors the AMQP constant name
    reply_code, reply_name = 540, "NOT_IMPLEMENTED"


class InternalError(AMQPError):
    reply_code, reply_name = 541, "INTERNAL_ERROR"


CONNECTION_ERRORS: tuple[type[AMQPError], ...] = (
    ConnectionForced,
    InvalidPath,
    ConnectionAccessRefused,
    FrameError,
    SyntaxError_,
    CommandInvalid,
    ChannelErrorHard,
    UnexpectedFrame,
    ResourceError,
    NotAllowed,
    NotImplemented_,
    InternalError,
)
# The connection-level reply codes, by the names RabbitMQ puts in reply texts.
CONNECTION_REPLY_NAMES = {error.reply_code: error.reply_name for error in CONNECTION_ERRORS}
