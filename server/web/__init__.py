"""Server-rendered admin pages (Chinese first), one module per concept."""

from __future__ import annotations

from flask import Blueprint

web = Blueprint("web", __name__)

from server.web import (  # noqa: E402,F401
    archive,
    areas,
    attachments,
    audit,
    auth,
    catalogue,
    dashboard,
    disclosures,
    feedback,
    imports,
    numbers,
    obligations,
    schedules,
    screens,
    tables,
    themes,
    urgent,
    users,
)
