"""The JSON API under /api/v1: token or session auth, one error shape, OpenAPI served.

Every route is declared through `endpoint`, which records it for the OpenAPI document,
so the document cannot drift from the routes, and which owns the call's transaction:
the view's services flush, `endpoint` commits when the view returns (server.edge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, g, make_response, request
from flask_login import current_user
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from server.domain.errors import Unauthenticated, ValidationFailed
from server.edge import finish
from server.extensions import csrf, db_session

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


OPERATIONS: list[Operation] = []


def parse(model: type[BaseModel], data: Any) -> Any:
    """Validate input with the schema; the first problem becomes a ValidationFailed."""
    if data is None:
        raise ValidationFailed("请求体必须是 JSON 对象。", field="body")
    try:
        return model.model_validate(data)
    except PydanticError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(f"字段 {where}：{first['msg']}", field=where) from None


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
    response: type[BaseModel] | None = None,
    status: int = 200,
    responses: dict[int, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    OPERATIONS.append(
        Operation(method, path, summary, tag, auth, body, response, status, responses or {})
    )
    rule = path.replace("{path}", "<path:path>").replace("{", "<").replace("}", ">")
    for name in ("id", "device_id", "disclosure_id", "feedback_id"):
        rule = rule.replace(f"<{name}>", f"<int:{name}>")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if auth == "user":
                _authenticate_user()
            if body is not None:
                kwargs["payload"] = parse(body, request.get_json(silent=True))
            result = view(*args, **kwargs)
            if isinstance(result, BaseModel):
                result = (result.model_dump(mode="json"), status)
            return finish(make_response(result))

        api.add_url_rule(
            rule, endpoint=f"{method}_{view.__name__}", view_func=inner, methods=[method.upper()]
        )
        return inner

    return decorate


from server.api import devices, disclosures, feedback, meta, openapi  # noqa: E402,F401
