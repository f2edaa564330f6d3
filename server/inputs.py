"""Request input checked by pydantic schemas: JSON bodies and query strings.

Shared by the JSON API and the admin pages so that bad input is always a 4xx naming
the field or parameter in Chinese — never a 500 from deep inside, never silently ignored.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from flask import request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from pydantic_core import ErrorDetails
from werkzeug.datastructures import MultiDict

from server.domain.errors import DomainError, ValidationFailed

# The deepest legitimate body (a table's rows) nests 4 levels; parsers recurse per level.
MAX_JSON_DEPTH = 32

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _STEP)

# Pydantic's error types, said in Chinese; `{...}` come from the error's context.
_REASONS = {
    "missing": "必须填写",
    "extra_forbidden": "不是可接受的字段",
    "string_type": "必须是字符串",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "float_type": "必须是数字",
    "float_parsing": "必须是数字",
    "bool_type": "必须是 true 或 false",
    "bool_parsing": "必须是 true 或 false",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "只能是 {expected}",
    "enum": "只能是 {expected}",
    "date_parsing": "不是有效的日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "不是有效的日期（YYYY-MM-DD）",
    "datetime_parsing": "不是有效的时间（ISO 8601）",
    "datetime_from_date_parsing": "不是有效的时间（ISO 8601）",
    "timezone_aware": "必须带时区，例如 +08:00",
    "dict_type": "必须是 JSON 对象",
    "model_type": "必须是 JSON 对象",
    "list_type": "必须是数组",
    "value_error": "{error}",
}


class BadInput(DomainError):
    """The request itself is malformed — not JSON, nested too deep, an unknown or bad
    query parameter — so it is answered 400 (server.errors maps it)."""

    code = "bad_request"


def reason(error: ErrorDetails) -> str:
    try:
        return _REASONS[error["type"]].format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return str(error["msg"])


def _too_deep(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (checked before parsing:
    the parser itself would recurse once per level and fail with a RecursionError)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return bool(brackets) and max(accumulate(map(_STEP.__getitem__, brackets))) > limit


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body() -> Any:
    """The request body as JSON, or a 400 saying what is wrong with it. Reading it
    answers 413 first when it is larger than MAX_CONTENT_LENGTH."""
    if not request.is_json:
        raise BadInput("请求体必须是 JSON，请设置 Content-Type: application/json。", field="body")
    raw = request.get_data(cache=True)
    if _too_deep(raw, MAX_JSON_DEPTH):
        raise BadInput(f"JSON 嵌套过深（最多 {MAX_JSON_DEPTH} 层）。", field="body")
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constants)
    except json.JSONDecodeError as err:
        raise BadInput(f"请求体不是有效的 JSON（第 {err.lineno} 行第 {err.colno} 列附近）。", field="body") from None
    except ValueError:
        raise BadInput("请求体不是有效的 JSON（编码须为 UTF-8，数字须在有效范围内）。", field="body") from None


def parse_body(model: type[BaseModel], data: Any) -> Any:
    """Validate a JSON body with the schema; the first problem becomes a ValidationFailed."""
    if not isinstance(data, dict):
        raise ValidationFailed("请求体必须是 JSON 对象 {…}，不能是数组、字符串或数字。", field="body")
    try:
        return model.model_validate(data)
    except PydanticError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(f"字段 {where}：{reason(first)}", field=where) from None


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Each field of a query schema as an OpenAPI parameter (name, schema, enum, description)."""
    schema = model.model_json_schema()
    params = []
    for name, field in model.model_fields.items():
        prop = _resolve(schema, schema["properties"][name])
        param: dict[str, Any] = {"name": name, "in": "query", "required": field.is_required(), "schema": prop}
        if field.description:
            param["description"] = field.description
        params.append(param)
    return params


def _resolve(schema: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without `null` alternatives and with `$ref`s inlined."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    merged: dict[str, Any] = {"enum": list(prop.get("enum", [])) if "anyOf" in prop else []}
    for option in options:
        if "$ref" in option:
            option = schema["$defs"][option["$ref"].rsplit("/", 1)[-1]]
        merged["enum"].extend(option.get("enum", []))
        merged.update({k: v for k, v in option.items() if k in ("type", "format", "minimum", "maximum", "maxLength")})
    if not merged["enum"]:
        del merged["enum"]
    if "default" in prop and prop["default"] is not None:
        merged["default"] = prop["default"]
    return merged


def parse_query(model: type[BaseModel], args: MultiDict[str, str]) -> Any:
    """The query string checked by `model`: unknown or repeated parameters and bad values
    are a 400 naming the parameter (and its allowed values); empty values count as absent."""
    known = model.model_fields
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise BadInput(
            f"不支持的查询参数：{'、'.join(unknown)}。可用的参数：{'、'.join(known) or '无'}。",
            field=unknown[0], unknown=unknown,
        )
    for name in args:
        if len(args.getlist(name)) > 1:
            raise BadInput(f"查询参数 {name} 只能出现一次。", field=name)
    values = {name: value for name, value in args.items() if value != ""}
    try:
        return model.model_validate(values)
    except PydanticError as err:
        raise _bad_parameter(model, err.errors()[0], values) from None


def _bad_parameter(model: type[BaseModel], error: ErrorDetails, values: dict[str, str]) -> BadInput:
    name = str(error["loc"][0]) if error["loc"] else ""
    shown = values.get(name, "")[:40]
    allowed: list[Any] = next((p["schema"].get("enum", []) for p in query_parameters(model) if p["name"] == name), [])
    if allowed:
        choices = "、".join(str(a) for a in allowed)
        return BadInput(f"查询参数 {name} 的值“{shown}”无效，可选值：{choices}。", field=name, allowed=allowed)
    return BadInput(f"查询参数 {name} 的值“{shown}”无效：{reason(error)}。", field=name)
