"""``/api/policies`` and ``/api/operator-policies``: RabbitMQ 3.10.8's shapes, statuses,
validation texts (``amqpbroker.policies``) and tag rules.

Any management user lists the policies of the vhosts it may use (administrators: all);
reading, setting or deleting one policy takes the policymaker tag and the vhost (401 "User
not authorised to access object"), one operator policy the administrator tag.  A 400 for
a policy carries RabbitMQ's text HTML-escaped, for an operator policy as it is.  A change
is answered once it is on disk.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from amqpbroker.definitions.parameter_sections import note_inert_keys
from amqpbroker.policies.model import Policy, ValidationFailed, check_policy

from .auth import Level, check_policymaker, login_vhosts
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

ADMIN = Level.ADMINISTRATOR
_CRASHING_KEYS = ("ha-mode", "max-age")


def _listed(call: Call, vhost: str | None, *, operator: bool) -> web.StreamResponse:
    names = login_vhosts(call.broker.access, call.user, list(call.broker.state.vhosts))
    policies = call.broker.parameters.policies_in(vhost, operator=operator)
    return json_response([p.item() for p in policies if p.vhost in names])


def _existing_vhost(call: Call) -> str:
    vhost = call.segment("vhost")
    if vhost not in call.broker.state.vhosts:
        raise not_found()
    return vhost


def _vhost_listed(call: Call, *, operator: bool) -> web.StreamResponse:
    vhost = _existing_vhost(call)
    call.check_vhost(vhost)
    return _listed(call, vhost, operator=operator)


def _authorise(call: Call, *, operator: bool) -> None:
    """Operator policies: the route asks for an administrator.  Policies: a policymaker
    who may use the vhost."""
    if not operator:
        check_policymaker(call.broker.access, call.user, call.segment("vhost"))


def _policy(call: Call, *, operator: bool) -> Policy:
    _authorise(call, operator=operator)
    vhost = _existing_vhost(call)
    policy = call.broker.parameters.policy(vhost, call.segment("name"), operator=operator)
    if policy is None:
        raise not_found()
    return policy


def _checked(call: Call, body: dict[str, Any], *, operator: bool) -> Policy:
    keys_missing(body, ("pattern", "definition"))
    definition, apply_to = body["definition"], body.get("apply-to", "all")
    if not isinstance(definition, dict) or not isinstance(apply_to, str | bool | None):
        raise server_error()  # (RabbitMQ's handler fails on these: 500, empty)
    if not operator and any(
        key in definition and not isinstance(definition[key], str) for key in _CRASHING_KEYS
    ):
        raise server_error()  # (so do its validators of these keys, given a non-string)
    try:
        return check_policy(
            call.segment("vhost"),
            call.segment("name"),
            body["pattern"],
            definition,
            body.get("priority", 0),
            apply_to,
            operator=operator,
        )
    except ValidationFailed as error:
        raise bad_request(error.reason(escape=not operator)) from None


async def _put(call: Call, *, operator: bool) -> web.StreamResponse:
    _authorise(call, operator=operator)
    if call.segment("vhost") not in call.broker.state.vhosts:
        raise not_found_reason("vhost_not_found")
    policy = _checked(call, await call.body(), operator=operator)
    created = call.broker.parameters.set_policy(policy)
    note_inert_keys(policy)
    await call.broker.durable()
    return created_or_not(created)


async def _delete(call: Call, *, operator: bool) -> web.StreamResponse:
    policy = _policy(call, operator=operator)
    call.broker.parameters.clear_policy(policy.vhost, policy.name, operator=operator)
    await call.broker.durable()
    return no_content()


# -- policies -------------------------------------------------------------------------------------


async def list_policies(call: Call) -> web.StreamResponse:
    return _listed(call, None, operator=False)


async def vhost_policies(call: Call) -> web.StreamResponse:
    return _vhost_listed(call, operator=False)


async def get_policy(call: Call) -> web.StreamResponse:
    return json_response(_policy(call, operator=False).item())


async def put_policy(call: Call) -> web.StreamResponse:
    return await _put(call, operator=False)


async def delete_policy(call: Call) -> web.StreamResponse:
    return await _delete(call, operator=False)


# -- operator policies ----------------------------------------------------------------------------


async def list_operator_policies(call: Call) -> web.StreamResponse:
    return _listed(call, None, operator=True)


async def vhost_operator_policies(call: Call) -> web.StreamResponse:
    return _vhost_listed(call, operator=True)


async def get_operator_policy(call: Call) -> web.StreamResponse:
    return json_response(_policy(call, operator=True).item())


async def put_operator_policy(call: Call) -> web.StreamResponse:
    return await _put(call, operator=True)


async def delete_operator_policy(call: Call) -> web.StreamResponse:
    return await _delete(call, operator=True)


ROUTES = [
    Route("GET", "/api/policies", list_policies),
    Route("GET", "/api/policies/{vhost}", vhost_policies),
    Route("GET", "/api/policies/{vhost}/{name}", get_policy),
    Route("PUT", "/api/policies/{vhost}/{name}", put_policy),
    Route("DELETE", "/api/policies/{vhost}/{name}", delete_policy),
    Route("GET", "/api/operator-policies", list_operator_policies),
    Route("GET", "/api/operator-policies/{vhost}", vhost_operator_policies),
    Route("GET", "/api/operator-policies/{vhost}/{name}", get_operator_policy, ADMIN),
    Route("PUT", "/api/operator-policies/{vhost}/{name}", put_operator_policy, ADMIN),
    Route("DELETE", "/api/operator-policies/{vhost}/{name}", delete_operator_policy, ADMIN),
]
