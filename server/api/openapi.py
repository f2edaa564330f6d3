"""The OpenAPI 3.1 document, generated from the declared endpoints and their schemas."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api import OPERATIONS, endpoint
from server.api.schemas import ErrorOut
from server.inputs import query_parameters

REF = "#/components/schemas/{model}"


@cache
def document() -> dict[str, Any]:
    models: set[type[BaseModel]] = {ErrorOut}
    for op in OPERATIONS:
        models |= {m for m in (op.body, op.response) if m is not None}
    pairs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [(m, "validation" if any(op.body is m for op in OPERATIONS) else "serialization") for m in models]
    _, schemas = models_json_schema(pairs, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string" if name == "path" else "integer"}}
            for name in _path_params(op.path)
        ]
        if op.query is not None:
            params += query_parameters(op.query)
        responses: dict[str, Any] = {}
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": {"$ref": REF.format(model=op.response.__name__)}}}
        responses[str(op.status)] = ok
        error = {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}}
        for code, text in op.extra_responses.items():
            responses[str(code)] = {"description": text} if code == 304 else {"description": text, "content": error}
        if op.auth != "none":
            responses.setdefault("401", {"description": "not authenticated", "content": error})
        if op.query is not None:
            responses.setdefault("400", {"description": "unknown query parameter or bad value", "content": error})
        if op.body is not None:
            responses.setdefault("400", {"description": "body is not JSON or nested too deep", "content": error})
            responses.setdefault("413", {"description": "body larger than the server accepts", "content": error})
            responses.setdefault("422", {"description": "a field is missing or invalid", "content": error})
        operation: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "tags": [op.tag],
            "parameters": params,
            "responses": responses,
        }
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}},
            }
        if op.auth == "user":
            operation["security"] = [{"apiToken": []}, {"session": []}]
        elif op.auth == "device":
            operation["security"] = [{"deviceCredential": []}]
        else:
            operation["security"] = []
        paths.setdefault(op.path, {})[op.method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sunwall API",
            "version": "1",
            "description": "阳光公开屏 JSON API. Errors share one shape: {code, message, details}. Query parameters a route does not list are refused (400), never ignored.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer", "description": "sunwall user token USERNAME"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session", "description": "browser session; unsafe methods need X-CSRFToken"},
                "deviceCredential": {"type": "http", "scheme": "bearer", "description": "a screen's own credential"},
            },
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@endpoint("get", "/openapi.json", summary="This document", tag="meta", auth="none")
def openapi_json():
    return document()
