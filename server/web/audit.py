"""The audit log page and its CSV export, for supervisors and admins of a subtree.

Rows are written by the services (server.domain.audit.record); here they are only
searched — by area, user, kind of action and the township's days — and shown or
exported. The export is UTF-8 with a BOM (so Excel reads the Chinese) and defuses
cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from server.clock import now
from server.domain import audit
from server.domain.errors import Forbidden
from server.edge import onto, refused
from server.extensions import db_session
from server.inputs import BadInput
from server.models import AuditEvent, Role
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import area_choices, choices, local_day_end, local_midnight, local_tz

PAGE_SIZE = 100
EXPORT_LIMIT = 10_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _optional_id(value: Any) -> int | None:
    return None if value in ("", None) else int(value)


class AuditSearchForm(FlaskForm):
    """The filters, sent as a GET query so a search can be bookmarked and exported."""

    class Meta:
        csrf = False

    area_id = SelectField(_l("区域"), coerce=_optional_id)
    username = StringField(_l("用户名"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("操作"), default="")
    since = DateField(_l("开始日期"), validators=[Optional()])
    until = DateField(_l("结束日期"), validators=[Optional()])
    page = IntegerField(_l("页码"), validators=[Optional(), NumberRange(min=1, max=EXPORT_LIMIT)])


def _form() -> AuditSearchForm:
    if not audit.may_read(actor()):
        raise Forbidden(_("只有监督员和管理员可以查看审计日志。"))
    form = AuditSearchForm(formdata=request.args)
    form.area_id.choices = [SelectChoice("", _("全部区域")), *area_choices(db_session(), actor(), Role.supervisor)]
    form.action.choices = [SelectChoice("", _("全部操作"))] + choices(
        [(code, _(label)) for code, label in audit.ACTION_LABELS.items()]
    )
    return form


def _filter(form: AuditSearchForm, limit: int, offset: int = 0) -> audit.AuditFilter:
    return audit.AuditFilter(
        area_id=form.area_id.data,
        username=(form.username.data or "").strip(),
        action=form.action.data or "",
        since=local_midnight(form.since.data) if form.since.data else None,
        until=local_day_end(form.until.data) if form.until.data else None,
        limit=limit,
        offset=offset,
    )


@web.route("/admin/audit")
@signed_in
def audit_log():
    session, form = db_session(), _form()
    number, found = form.page.data or 1, None
    if form.validate():
        with refused(onto(form)):  # e.g. an end date before the start date
            found = audit.page(session, actor(), _filter(form, PAGE_SIZE, (number - 1) * PAGE_SIZE))
    rows = found.rows if found else []
    return render_template(
        "admin/audit.html", form=form, rows=rows, names=audit.area_names(session, rows),
        more=bool(found and found.more), number=number, labels=audit.ACTION_LABELS,
        search_url=_search_url, page_size=PAGE_SIZE,
    ), (200 if found else 400)


def _search_url(endpoint: str, **extra: Any) -> str:
    """This search's address at `endpoint` (another page of it, or its CSV export)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    return url_for(endpoint, **args, **extra)


@web.route("/admin/audit.csv")
@signed_in
def audit_csv():
    session, form = db_session(), _form()
    if not form.validate():
        name, errors = next(iter(form.errors.items()))
        raise BadInput(f"{getattr(form, name).label.text}：{errors[0]}", field=name)
    found = audit.page(session, actor(), _filter(form, EXPORT_LIMIT))
    body = _csv(found.rows, audit.area_names(session, found.rows), found.more)
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    stamp = now().astimezone(local_tz()).strftime("%Y%m%d-%H%M")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(rows: list[AuditEvent], names: dict[str, str], capped: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("时间"), _("用户"), _("地址"), _("操作"), _("操作代码"), _("对象"), _("对象编号"),
                     _("区域"), _("详情"), _("变更前摘要"), _("变更后摘要")])
    zone = local_tz()
    for e in rows:
        writer.writerow(safe_cell(v) for v in (
            e.occurred_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), e.username, e.address,
            _(audit.ACTION_LABELS.get(e.action, e.action)), e.action, e.target_type, e.target_id,
            names.get(e.area_path, ""), json.dumps(e.detail, ensure_ascii=False) if e.detail else "",
            e.before_digest, e.after_digest,
        ))
    if capped:
        writer.writerow([_("仅导出了最新的 %(n)d 条，请缩小日期范围后分次导出。", n=EXPORT_LIMIT)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
