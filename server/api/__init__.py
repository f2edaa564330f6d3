"""The JSON API under /api/v1: token or session auth, one error shape, OpenAPI served.

Every route is declared through `endpoint`, which records it for the OpenAPI document,
so the document cannot drift from the routes, and which owns the call's transaction:
the view's services flush, `endpoint` commits when the view returns (server.edge).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, g, make_response, request
from flask_login import current_user
from pydantic import BaseModel

from server.api.schemas import NoQuery
from server.domain.errors import Unauthenticated
from server.edge import finish
from server.extensions import csrf, db_session
from server.inputs import json_body, parse_body, parse_query

api = Blueprint("api", __name__, url_prefix="/api/v1")


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    auth: str  # "user", "device" or "none"
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    extra_responses: dict[int, str] = field(default_factory=dict)
    query: type[BaseModel] | None = None


OPERATIONS: list[Operation] = []


def current_actor():
    user = getattr(g, "api_user", None)
    if user is None:
        raise Unauthenticated("需要登录或 API 令牌。")
    return user


def _authenticate_user() -> None:
    from server.domain import users

    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.api_user = users.user_for_token(db_session(), header[7:].strip())
        if g.api_user is None:
            raise Unauthenticated("API 令牌无效或已吊销。")
        return
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()  # browser sessions must send X-CSRFToken
        g.api_user = current_user.user
        return
    raise Unauthenticated("需要登录或 API 令牌。")


def endpoint(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    auth: str = "user",
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    responses: dict[int, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API route. `body` and `query` are schemas: the parsed body reaches the
    view as `payload`, the parsed query string as `query`; bad input is a 400 or 422.
    A route without a query schema takes no query parameters at all."""
    OPERATIONS.append(
        Operation(method, path, summary, tag, auth, body, response, status, responses or {}, query)
    )
    rule = _rule(path)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if auth == "user":
                _authenticate_user()
            parsed = parse_query(query or NoQuery, request.args)
            if query is not None:
                kwargs["query"] = parsed
            if body is not None:
                kwargs["payload"] = parse_body(body, json_body())
            result = view(*args, **kwargs)
            if isinstance(result, BaseModel):
                result = (result.model_dump(mode="json"), status)
            return finish(make_response(result))

        api.add_url_rule(
            rule, endpoint=f"{method}_{view.__name__}", view_func=inner, methods=[method.upper()]
        )
        return inner

    return decorate


def _rule(path: str) -> str:
    """The werkzeug rule of an OpenAPI path: `{id}` and `{…_id}` are database ids (the
    app's capped int converter, so an id beyond 64 bits is a 404), `{path}` a file path."""
    rule = path.replace("{path}", "<path:path>")
    rule = re.sub(r"\{(id|\w+_id)\}", r"<int:\1>", rule)
    return rule.replace("{", "<").replace("}", ">")


from server.api import (  # noqa: E402,F401
    admin,
    archive,
    attachments,
    audit,
    catalogue,
    devices,
    disclosures,
    feedback,
    meta,
    obligations,
    openapi,
    schedules,
    urgent,
)
