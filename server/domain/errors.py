"""Domain errors; the HTTP layers map each class to one status code in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = dict(details)
        if field:
            self.details["field"] = field


class ValidationFailed(DomainError):
    """Input is wrong; `field` names the field, `message` the problem (in Chinese)."""

    code = "validation_failed"


class NotFound(DomainError):
    """Missing — or outside the actor's area subtree, which must look the same."""

    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    """The request is valid but the object's state does not allow it."""

    code = "conflict"


class Unauthenticated(DomainError):
    code = "unauthenticated"
