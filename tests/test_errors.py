"""The reply-code catalogue: each error's code and the name RabbitMQ renders in reply texts."""

from __future__ import annotations

from amqpbroker import errors


def test_connection_reply_names_are_the_specs_connection_level_codes() -> None:
    assert errors.CONNECTION_REPLY_NAMES == {
        320: "CONNECTION_FORCED",
        402: "INVALID_PATH",
        403: "ACCESS_REFUSED",
        501: "FRAME_ERROR",
        502: "SYNTAX_ERROR",
        503: "COMMAND_INVALID",
        504: "CHANNEL_ERROR",
        505: "UNEXPECTED_FRAME",
        506: "RESOURCE_ERROR",
        530: "NOT_ALLOWED",
        540: "NOT_IMPLEMENTED",
        541: "INTERNAL_ERROR",
    }
    assert all(error.connection_level for error in errors.CONNECTION_ERRORS)


def test_every_connection_level_error_class_is_in_the_catalogue() -> None:
    def subclasses(cls: type[errors.AMQPError]) -> set[type[errors.AMQPError]]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found))

    hard = {
        error
        for error in subclasses(errors.AMQPError)
        if error.connection_level and error.__module__ == errors.__name__
    }
    assert hard == set(errors.CONNECTION_ERRORS)


def test_no_route_is_basic_returns_reply() -> None:
    assert (errors.NO_ROUTE.code, errors.NO_ROUTE.name) == (312, "NO_ROUTE")
