"""The archive page (公开档案) for supervisors, reviewers and admins, and its ZIP export.

A supervisor picks an area of their subtree and a span of the township's days, sees each
entry (approved, withdrawn, corrected) with its title, posting period and approver, the
result of checking that area's chain, and downloads the inspector's ZIP. The ZIP edge is
shared with the API (`zip_response`): the PDFs are made in a read-only transaction, the
export is then audited in a short write transaction of its own.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from server.clock import now
from server.db import write_intent
from server.domain import archive
from server.domain.errors import Forbidden
from server.edge import end_reading, onto, refused
from server.extensions import db_session
from server.inputs import BadInput
from server.models import Area, User
from server.printing import content_disposition
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import local_date, local_day_end, local_midnight

DEFAULT_DAYS = 31


def _optional_id(value: object) -> int | None:
    return None if value in ("", None) else int(str(value))


class ArchiveForm(FlaskForm):
    """The area and days, sent as a GET query so a view can be bookmarked and exported."""

    class Meta:
        csrf = False

    area_id = SelectField(_l("区域"), coerce=_optional_id)
    since = DateField(_l("开始日期"), validators=[Optional()])
    until = DateField(_l("结束日期"), validators=[Optional()])


def _area_choices(user: User) -> list[SelectChoice]:
    from server.domain import areas

    found: dict[int, Area] = {}
    for role in archive.ARCHIVE_ROLES:
        for area, _depth in areas.offered_areas(db_session(), user, role):
            found.setdefault(area.id, area)
    ordered = areas.tree_order(found.values())
    return [SelectChoice(a.id, "　" * depth + a.name) for a, depth in ordered]


def _form() -> ArchiveForm:
    user = actor()
    form = ArchiveForm(formdata=request.args)
    form.area_id.choices = [SelectChoice("", _("请选择区域")), *_area_choices(user)]
    if len(form.area_id.choices) == 1:
        raise Forbidden(_("只有监督员、审核人和管理员可以查看公开档案。"))
    today = local_date(now())
    assert today is not None
    if not form.until.data and "until" not in request.args:
        form.until.data = today
    if not form.since.data and "since" not in request.args:
        form.since.data = today - dt.timedelta(days=DEFAULT_DAYS - 1)
    return form


@web.route("/admin/archive")
@signed_in
def archive_page() -> tuple[str, int]:
    session, form = db_session(), _form()
    rows: list[archive.Listed] = []
    problems: list[str] = []
    chain: archive.Chain | None = None
    ok = form.validate()
    if ok and form.area_id.data is not None and form.since.data and form.until.data:
        with refused(onto(form, "area_id")):
            found = archive.entries(
                session, actor(), form.area_id.data, local_midnight(form.since.data), local_day_end(form.until.data)
            )
            rows = [archive.listed(e) for e in found]
            bad, chains = archive.verify_with_summary(session, form.area_id.data)
            problems, chain = [p.line() for p in bad], chains[0]
    status = 200 if ok and not form.area_id.errors and not form.until.errors else 400
    return render_template(
        "admin/archive.html", form=form, rows=rows, problems=problems, chain=chain, labels=archive.KIND_LABELS,
        query={k: v for k, v in request.args.items() if v},
    ), status


@web.route("/admin/archive.zip")
@signed_in
def archive_zip() -> Response:
    form = _form()
    if not form.validate() or form.area_id.data is None or not form.since.data or not form.until.data:
        raise BadInput(_("请选择区域和开始、结束日期。"), field="area_id")
    return zip_response(actor(), form.area_id.data, form.since.data, form.until.data)


def zip_response(user: User, area_id: int, first: dt.date, last: dt.date) -> Response:
    """The inspector's ZIP as a download. Made while only reading (PDFs take a while);
    then the export is audited in a write transaction of its own, which on SQLite takes
    the write lock up front instead of failing when another writer committed meanwhile."""
    config = current_app.config
    moment = now()
    made = archive.build_export(
        db_session(), user, area_id, first, last, moment,
        public_url=config["PUBLIC_URL"], secret=config["SECRET_KEY"].encode(), timezone=config["TIMEZONE"],
    )
    user_id = user.id
    end_reading()
    write_intent.set(True)
    session = db_session()
    archive.note_export(session, session.get_one(User, user_id), made, moment)
    response = Response(made.data, mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(
        made.filename, f"archive-{area_id}.zip", "attachment"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response

