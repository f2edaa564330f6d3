"""Errors mapped to status codes in one place: JSON for /api, friendly pages elsewhere.

Clients never see a stack trace or SQL; unexpected errors are logged and answered 500.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from server.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from server.domain.text import N_
from server.inputs import BadInput

STATUS = {
    BadInput: 400,
    ValidationFailed: 422,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unauthenticated: 401,
}
HTTP_MESSAGES = {  # the API answers in Chinese; pages show them in the page's language
    400: N_("请求格式不正确。"),
    401: N_("请先登录。"),
    403: N_("你没有权限进行此操作。"),
    404: N_("页面不存在，或者二维码已失效。"),
    405: N_("不支持该请求方式。"),
    413: N_("上传的内容太大。"),
    422: N_("填写的内容有误。"),
    429: N_("操作太频繁了，请稍后再试。"),
    500: N_("服务器出了点问题，请稍后再试。"),
}


def status_for(error: DomainError) -> int:
    for cls, status in STATUS.items():
        if isinstance(error, cls):
            return status
    return 400


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, code: str, message: str, details: dict[str, Any] | None = None):
    response = jsonify({"code": code, "message": message, "details": details or {}})
    response.status_code = status
    return response


def _page(status: int, message: str):
    return make_response(render_template("errors/error.html", status=status, message=message), status)


def _with_headers(response: Any, error: HTTPException) -> Any:
    """Keep the headers the exception carries (405's Allow, 401's WWW-Authenticate…)."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        status = status_for(error)
        if wants_json():
            return api_error(status, error.code, error.message, error.details)
        return _page(status, error.message)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        message = "页面已过期或来源不明（缺少 CSRF 令牌），请刷新页面后重试。"
        if wants_json():
            return api_error(400, "csrf_failed", message)
        return _page(400, message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        message = HTTP_MESSAGES.get(status, error.description or "")
        if wants_json():
            code = (error.name or "error").lower().replace(" ", "_")
            details = {"max_bytes": request.max_content_length} if status == 413 else None
            return _with_headers(api_error(status, code, message, details), error)
        shown = gettext(message) if status in HTTP_MESSAGES else message
        return _with_headers(_page(status, shown), error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return api_error(500, "internal_error", HTTP_MESSAGES[500])
        return _page(500, gettext(HTTP_MESSAGES[500]))
