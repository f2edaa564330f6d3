"""The landing page after sign-in: what waits for this user."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from server.clock import now
from server.domain import obligations
from server.domain.access import area_clause, has_role
from server.extensions import db_session
from server.models import (
    Area,
    Device,
    Disclosure,
    DisclosureStatus,
    Feedback,
    FeedbackStatus,
    Role,
    Site,
)
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import local_zone


@web.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("web.dashboard"))
    return render_template("public/home.html")


@web.route("/admin/")
@signed_in
def dashboard():
    session, user = db_session(), actor()
    scope = area_clause(user)

    def count(query):
        return session.scalar(query) or 0

    figures = {
        "submitted": count(
            select(func.count(Disclosure.id)).join(Disclosure.area).where(scope, Disclosure.status == DisclosureStatus.submitted)
        ),
        "approved": count(
            select(func.count(Disclosure.id)).join(Disclosure.area).where(scope, Disclosure.status == DisclosureStatus.approved)
        ),
        "drafts": count(
            select(func.count(Disclosure.id)).join(Disclosure.area).where(
                scope, Disclosure.status.in_([DisclosureStatus.draft, DisclosureStatus.rejected]), Disclosure.author_id == user.id
            )
        ),
        "open_feedback": count(
            select(func.count(Feedback.id)).join(Feedback.area).where(scope, Feedback.status == FeedbackStatus.open)
        ),
        "answered_feedback": count(
            select(func.count(Feedback.id)).join(Feedback.area).where(scope, Feedback.status == FeedbackStatus.answered)
        ),
        "screens": count(
            select(func.count(Device.id)).join(Device.site).join(Site.area).where(scope, Device.decommissioned_at.is_(None))
        ),
    }
    areas = session.scalars(select(Area).where(scope).order_by(Area.path).limit(1)).all()
    found = obligations.for_user(session, user, now(), local_zone())
    owed = obligations.unmet_first(found)
    figures["overdue"] = sum(o.state is obligations.State.overdue for o in owed)
    return render_template(
        "admin/dashboard.html", figures=figures, root=areas[0] if areas else None,
        owed=owed[:12] if has_role(user, Role.editor) else [], owed_more=max(len(owed) - 12, 0),
        labels=obligations.STATE_LABELS,
    )
