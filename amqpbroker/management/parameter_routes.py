"""``/api/parameters`` and ``/api/global-parameters``: RabbitMQ 3.10.8's shapes, statuses
and tag rules (every route takes the policymaker tag; the per-vhost ones the vhost too:
401 "User not authorised to access object").

Parameters are kept for every component ``policies/components.py`` accepts, including
plugins' this broker does not act on.  The ``policy`` component is left out of the full
list and may not be set here (RabbitMQ's answers); ``operator_policy`` may.  The global
parameter ``cluster_name`` is the name ``/api/cluster-name`` shows.  A change is answered
once it is on disk.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from amqpbroker.definitions.parameter_sections import note_inert_component
from amqpbroker.policies.model import POLICY, ValidationFailed

from .auth import check_policymaker, login_vhosts
from .http import (
    bad_request,
    created_or_not,
    json_response,
    keys_missing,
    no_content,
    not_found,
    not_found_reason,
    server_error,
)
from .routes import Call, Route


def _visible(call: Call, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = login_vhosts(call.broker.access, call.user, list(call.broker.state.vhosts))
    return [item for item in items if item["vhost"] in names]


def _in_vhost(call: Call) -> str:
    """The route's vhost, after the caller's rights there (a missing vhost: 404)."""
    vhost = call.segment("vhost")
    check_policymaker(call.broker.access, call.user, vhost)
    if vhost not in call.broker.state.vhosts:
        raise not_found()
    return vhost


def _parameter(call: Call) -> dict[str, Any]:
    vhost = _in_vhost(call)
    item = call.broker.parameters.parameter(vhost, call.segment("component"), call.segment("name"))
    if item is None:
        raise not_found()
    return item


async def list_parameters(call: Call) -> web.StreamResponse:
    check_policymaker(call.broker.access, call.user)
    return json_response(_visible(call, call.broker.parameters.parameters()))


async def component_parameters(call: Call) -> web.StreamResponse:
    check_policymaker(call.broker.access, call.user)
    items = call.broker.parameters.parameters(call.segment("component"))
    return json_response(_visible(call, items))


async def vhost_parameters(call: Call) -> web.StreamResponse:
    vhost = _in_vhost(call)
    return json_response(call.broker.parameters.parameters(call.segment("component"), vhost))


async def get_parameter(call: Call) -> web.StreamResponse:
    return json_response(_parameter(call))


async def put_parameter(call: Call) -> web.StreamResponse:
    vhost = call.segment("vhost")
    check_policymaker(call.broker.access, call.user, vhost)
    if vhost not in call.broker.state.vhosts:
        raise not_found_reason("vhost_not_found")
    body = await call.body()
    keys_missing(body, ["value"])
    component, name = call.segment("component"), call.segment("name")
    if component == POLICY:
        raise bad_request("policies may not be set using this method")
    try:
        created = call.broker.parameters.set_parameter(vhost, component, name, body["value"])
    except ValidationFailed as error:
        raise bad_request(error.reason()) from None
    note_inert_component(component)
    await call.broker.durable()
    return created_or_not(created)


async def delete_parameter(call: Call) -> web.StreamResponse:
    item = _parameter(call)
    if item["component"] == POLICY:
        raise server_error()  # (RabbitMQ's handler fails so: delete a policy at /api/policies)
    call.broker.parameters.clear_parameter(item["vhost"], item["component"], item["name"])
    await call.broker.durable()
    return no_content()


# -- global parameters ----------------------------------------------------------------------------


async def list_global_parameters(call: Call) -> web.StreamResponse:
    check_policymaker(call.broker.access, call.user)
    return json_response(call.broker.parameters.global_parameters())


def _global_name(call: Call) -> str:
    check_policymaker(call.broker.access, call.user)
    name = call.segment("name")
    if name not in call.broker.parameters.global_values:
        raise not_found()
    return name


async def get_global_parameter(call: Call) -> web.StreamResponse:
    name = _global_name(call)
    # (one global parameter comes value first, unlike the list's items)
    return json_response({"value": call.broker.parameters.global_values[name], "name": name})


async def put_global_parameter(call: Call) -> web.StreamResponse:
    check_policymaker(call.broker.access, call.user)
    body = await call.body()
    keys_missing(body, ["value"])
    created = call.broker.parameters.set_global(call.segment("name"), body["value"])
    await call.broker.durable()
    return created_or_not(created)


async def delete_global_parameter(call: Call) -> web.StreamResponse:
    call.broker.parameters.clear_global(_global_name(call))
    await call.broker.durable()
    return no_content()


ROUTES = [
    Route("GET", "/api/parameters", list_parameters),
    Route("GET", "/api/parameters/{component}", component_parameters),
    Route("GET", "/api/parameters/{component}/{vhost}", vhost_parameters),
    Route("GET", "/api/parameters/{component}/{vhost}/{name}", get_parameter),
    Route("PUT", "/api/parameters/{component}/{vhost}/{name}", put_parameter),
    Route("DELETE", "/api/parameters/{component}/{vhost}/{name}", delete_parameter),
    Route("GET", "/api/global-parameters", list_global_parameters),
    Route("GET", "/api/global-parameters/{name}", get_global_parameter),
    Route("PUT", "/api/global-parameters/{name}", put_global_parameter),
    Route("DELETE", "/api/global-parameters/{name}", delete_global_parameter),
]
