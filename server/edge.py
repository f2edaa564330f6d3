"""The request edge owns the transaction: one decorator per kind of edge.

`transaction` wraps an HTML view (admin or phone page): the view calls services, which
only flush; when it returns, the unit of work commits — unless the view raised, or
caught a domain error and called `abandon()`, in which case everything it did is rolled
back (the teardown in `extensions.close_db_session` is the last safety net). The JSON
API's `endpoint` decorator (server.api) does the same for API calls; Socket.IO handlers
and CLI commands use `extensions.session_scope`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import after_this_request, flash, g, make_response

from server.domain.errors import DomainError


def abandon() -> None:
    """Roll back what this request did so far; nothing of it will be committed."""
    g.uow_abandoned = True
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def end_reading() -> None:
    """End the read-only part of this unit of work: the writes that follow start a fresh
    transaction (on SQLite a transaction that has read cannot start writing once another
    writer committed meanwhile). Only for requests that wrote nothing yet."""
    session = g.get("db_session")
    if session is not None:
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("end_reading() after a change would drop it")
        session.rollback()


def after_commit(action: Callable[[], None]) -> None:
    """Run `action` once this request's unit of work has committed and its response is on
    its way (never when the commit fails): e.g. deleting an uploaded file kept for the
    apply step, so a failed apply can be retried with it."""

    @after_this_request
    def run(response: Any) -> Any:
        if not g.get("uow_abandoned"):
            action()
        return response


def checkpoint() -> None:
    """Commit what this request did so far as a unit of work of its own, before a second
    one that may be refused (files uploaded with a draft stay when the draft is not saved).
    The only other commit besides the edge's own at the end; never inside domain code."""
    session = g.get("db_session")
    if session is not None and not g.get("uow_abandoned"):
        session.commit()


def finish(response: Any) -> Any:
    """Commit the request's unit of work, unless it was abandoned."""
    session = g.get("db_session")
    if session is not None:
        if g.get("uow_abandoned"):
            session.rollback()
        else:
            session.commit()
    return response


def transaction(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        return finish(make_response(view(*args, **kwargs)))

    return inner


@contextmanager
def refused(report: Callable[[DomainError], None]) -> Iterator[None]:
    """Inside a view: a domain error abandons the unit of work and is handed to `report`
    (to show beside a form field or in a flash message) instead of failing the page."""
    try:
        yield
    except DomainError as err:
        abandon()
        report(err)


def onto(form: Any, default: str | None = None) -> Callable[[DomainError], None]:
    """Report a domain error beside the form field it names (else `default`, else a flash)."""

    def report(err: DomainError) -> None:
        name = (err.field or "").split(".")[0] or default
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, err.message]
        else:
            flash(err.message, "error")

    return report


def flashed(err: DomainError) -> None:
    flash(err.message, "error")
