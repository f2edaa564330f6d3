"""Admin pages for disclosures: list, draft, edit, submit, approve, reject."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from wtforms import DateField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

import signage_layouts
from server import printing as printed
from server.clock import now
from server.domain import cases, disclosures, schedules
from server.domain.access import can_act
from server.domain.manifests import disclosure_board
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.inputs import parse_query
from server.models import (
    Area,
    CatalogueItem,
    Disclosure,
    DisclosureKind,
    DisclosureStatus,
    DisclosureVersion,
    Role,
)
from server.web import attachments as attachment_pages
from server.web import previews, web
from server.web.auth import actor, signed_in
from server.web.forms import (
    area_choices,
    catalogue_choices,
    choices,
    local_date,
    local_day_end,
    local_last_day,
    local_midnight,
    local_zone,
    parse_table_text,
    table_to_text,
)


class DisclosureForm(FlaskForm):
    area_id = SelectField(_l("公开单位"), coerce=int, validators=[DataRequired(_l("请选择公开单位。"))])
    catalogue_item_id = SelectField(_l("目录项"), coerce=int, validators=[DataRequired(_l("请选择目录项。"))])
    kind = RadioField(
        _l("形式"), choices=choices([("notice", _l("图文公告")), ("table", _l("表格"))]), default="notice"
    )
    title = StringField(_l("标题"), validators=[DataRequired(_l("请填写标题。"))])
    body = TextAreaField(_l("正文"), validators=[Optional()])
    table = TextAreaField(_l("表格"), validators=[Optional()])
    valid_from = DateField(_l("公开开始日期"), validators=[DataRequired(_l("请填写开始日期。"))])
    valid_to = DateField(_l("公开结束日期"), validators=[Optional()])
    # Which obligation it meets (server.domain.disclosures._place): a period, or a case and stage.
    period = StringField(_l("公开期次"), validators=[Optional()])
    case_id = SelectField(_l("事项案卷"), coerce=int, validators=[Optional()])
    case_title = StringField(_l("新事项名称"), validators=[Optional()])
    case_opened_on = DateField(_l("事项发生（开始）日期"), validators=[Optional()])
    stage = SelectField(_l("公开阶段"), coerce=int, validators=[Optional()])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(_l("请写明原因。"))])


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("审核意见"), validators=[Optional()])


def _form(disclosure=None) -> DisclosureForm:
    form = DisclosureForm(obj=None)
    session = db_session()
    form.area_id.choices = area_choices(session, actor(), Role.editor)
    form.catalogue_item_id.choices = catalogue_choices(
        session, actor(), keep=disclosure.catalogue_item_id if disclosure is not None else None)
    form.case_id.choices = [SelectChoice(0, _("— 新事项 —"))] + [
        SelectChoice(c.id, f"{c.area_name} · {c.title}（{c.item}）") for c in cases.open_cases(session, actor())
    ]
    form.stage.choices = [SelectChoice(n, _("第 %(n)s 阶段", n=n + 1)) for n in range(cases.MAX_STAGES)]
    if disclosure is not None and request.method == "GET":
        version = disclosure.latest_version
        form.area_id.data = disclosure.area_id
        form.catalogue_item_id.data = disclosure.catalogue_item_id
        form.period.data = disclosure.period
        form.case_id.data = disclosure.case_id or 0
        form.stage.data = disclosure.stage or 0
        form.kind.data = disclosure.kind.value
        form.title.data = version.title
        form.body.data = version.body_source
        form.table.data = table_to_text(version.table)
        form.valid_from.data = local_date(disclosure.valid_from)
        form.valid_to.data = local_last_day(disclosure.valid_to)
    return form


def _meta(form: DisclosureForm) -> dict[str, Any]:
    """What the form's script needs to show the right fields for the chosen item: its
    timing, its stages' names and its internal phase."""
    ids = [c[0] if isinstance(c, tuple) else c.value for c in _flat(form.catalogue_item_id.choices)]
    rows: Any = db_session().scalars(select(CatalogueItem).where(CatalogueItem.id.in_(ids))) if ids else []
    return {
        str(item.id): {"timing": item.timing.value, "stages": item.stages or [], "internal_days": item.internal_days
                       if item.phased else 0, "period": item.period, "kind": item.category.org_kind.value}
        for item in rows
    }


def _area_kinds(form: DisclosureForm) -> dict[str, str]:
    """Each offered area's organisation type: the form offers the items of its catalogue only."""
    ids = [c[0] if isinstance(c, tuple) else c.value for c in _flat(form.area_id.choices)]
    found: Any = db_session().execute(select(Area.id, Area.kind).where(Area.id.in_(ids))) if ids else []
    return {str(area_id): kind.value for area_id, kind in found}


def _flat(choices: Any) -> list[Any]:
    """A select's choices, optgroups opened."""
    if isinstance(choices, dict):
        return [c for group in choices.values() for c in group]
    return list(choices or [])


def _prefilled(form: DisclosureForm) -> None:
    """A new draft opened from an obligation (待公开) arrives with its area, item and
    period or case and stage in the query string."""
    if request.method != "GET":
        return
    for name in ("area_id", "catalogue_item_id", "case_id", "stage"):
        value = request.args.get(name, "")
        if value.isdigit():
            getattr(form, name).data = int(value)
    if request.args.get("period"):
        form.period.data = request.args["period"][:16]


def _input(form: DisclosureForm) -> disclosures.DraftInput:
    kind = DisclosureKind(form.kind.data or "notice")
    return disclosures.DraftInput(
        area_id=form.area_id.data,
        catalogue_item_id=form.catalogue_item_id.data,
        title=form.title.data or "",
        valid_from=local_midnight(form.valid_from.data),
        valid_to=local_day_end(form.valid_to.data) if form.valid_to.data else None,
        kind=kind,
        body=form.body.data or "",
        table=parse_table_text(form.table.data) if kind is DisclosureKind.table else None,
        period=(form.period.data or "").strip(),
        case_id=form.case_id.data or None,
        case_title=form.case_title.data or "" if not form.case_id.data else "",
        case_opened_on=form.case_opened_on.data,
        stage=form.stage.data if form.stage.data is not None else None,
    )


def _keep_masked(before: dict[str, Any] | None, table: dict[str, Any]) -> None:
    """A table edited as text keeps the columns masked before (matched by header)."""
    if not before or not before.get("masked"):
        return
    names = {before["columns"][i] for i in before["masked"] if i < len(before["columns"])}
    table["masked"] = [i for i, name in enumerate(table["columns"]) if name in names]


def _save(form: DisclosureForm, disclosure_id: int | None):
    session, saved = db_session(), None
    files = attachment_pages.draft_files()
    if files.errors:  # a refused upload: the page names it, the draft waits
        return None
    with refused(onto(form)):
        data = _input(form)
        data.attachments = files.shas
        if disclosure_id is not None and data.table is not None:
            _keep_masked(disclosures.get(session, actor(), disclosure_id).latest_version.table, data.table)
        if disclosure_id is None:
            saved = disclosures.create_draft(session, actor(), data, now(), local_zone())
        else:
            saved = disclosures.update_draft(session, actor(), disclosure_id, data, now(), local_zone())
    return saved


class ListQuery(BaseModel):
    """The list's query string; an unknown status is a 400 page, not silently "all"."""

    model_config = ConfigDict(extra="forbid")
    status: DisclosureStatus | None = None


@web.route("/admin/disclosures")
@signed_in
def disclosure_list():
    chosen = parse_query(ListQuery, request.args).status
    rows = disclosures.list_visible(db_session(), actor(), chosen)
    return render_template(
        "admin/disclosures.html", rows=rows, status=chosen, labels=disclosures.STATUS_LABELS
    )


@web.route("/admin/disclosures/new", methods=["GET", "POST"])
@signed_in
def disclosure_new():
    form = _form()
    if not form.area_id.choices:
        abort(403)
    _prefilled(form)
    attachment_pages.receive(None)
    if form.validate_on_submit():
        saved = _save(form, None)
        if saved is not None:
            flash(_("草稿已保存。确认无误后请“提交审核”。"))
            return redirect(url_for("web.disclosure_detail", disclosure_id=saved.id))
    return render_template("admin/disclosure_form.html", form=form, disclosure=None, catalogue_meta=_meta(form), area_kinds=_area_kinds(form)), (
        422 if form.errors else 200
    )


@web.route("/admin/disclosures/<int:disclosure_id>/edit", methods=["GET", "POST"])
@signed_in
def disclosure_edit(disclosure_id: int):
    disclosure = disclosures.get(db_session(), actor(), disclosure_id)
    form = _form(disclosure)
    attachment_pages.receive(disclosure)
    if form.validate_on_submit():
        saved = _save(form, disclosure_id)
        if saved is not None:
            flash(_("已保存为新版本。"))
            return redirect(url_for("web.disclosure_detail", disclosure_id=saved.id))
    return render_template("admin/disclosure_form.html", form=form, disclosure=disclosure, catalogue_meta=_meta(form), area_kinds=_area_kinds(form)), (
        422 if form.errors else 200
    )


@web.route("/admin/disclosures/<int:disclosure_id>")
@signed_in
def disclosure_detail(disclosure_id: int):
    user = actor()
    disclosure = disclosures.get(db_session(), user, disclosure_id)
    live = disclosure.status is DisclosureStatus.approved
    return render_template(
        "admin/disclosure_detail.html",
        d=disclosure,
        version=disclosure.latest_version,
        labels=disclosures.STATUS_LABELS,
        review_form=ReviewForm(),
        can_edit=can_act(user, disclosure.area, Role.editor)
        and disclosure.status in disclosures.EDITABLE,
        can_review=can_act(user, disclosure.area, Role.reviewer)
        and disclosure.status is DisclosureStatus.submitted,
        is_author=user.id in disclosures.authors_of(disclosure, disclosure.latest_version),
        can_set_loop=can_act(user, disclosure.area, Role.editor) or can_act(user, disclosure.area, Role.reviewer),
        can_print=disclosure.status is DisclosureStatus.approved
        and disclosures.posting_phase(disclosure, now()) is not disclosures.Phase.ended,
        can_withdraw=live and can_act(user, disclosure.area, Role.reviewer),
        can_correct=live and can_act(user, disclosure.area, Role.editor),
        stage=disclosures.stage_name(disclosure),
        corrected_by=disclosures.corrected_by(db_session(), disclosure),
    )


@web.route("/admin/disclosures/<int:disclosure_id>/print/<size>")
@signed_in
def disclosure_print(disclosure_id: int, size: str):
    """The approved version as a PDF for the paper 公开栏 (A4 or A3), opened in the browser
    to print; refused like the API (server/printing.py)."""
    return printed.board_response(actor(), disclosure_id, size, "inline")


@web.route("/admin/disclosures/<int:disclosure_id>/preview/<layout>")
@signed_in
def disclosure_preview(disclosure_id: int, layout: str):
    """The latest version as a board on a screen, for the reviewer to check before approving."""
    disclosure = disclosures.get(db_session(), actor(), disclosure_id)
    if layout not in signage_layouts.layouts():
        abort(404)
    return board_page(disclosure, disclosure.latest_version, layout)


def board_page(disclosure: Disclosure, version: DisclosureVersion, layout: str) -> tuple[str, int, dict[str, str]]:
    """A version as one still board inside `layout`, exactly as the screens render it."""
    qr_url = current_app.config["PUBLIC_URL"].rstrip("/") + "/q/preview"
    board = disclosure_board(disclosure, version, qr_url, local_zone())
    return previews.still_page(disclosure.area, attachment_pages.inline_files(board["html"]), layout)


@web.route("/admin/disclosures/preview", methods=["POST"])
@signed_in
def disclosure_draft_preview() -> Any:
    """The draft form's live preview: the board as typed, or what is wrong with it.
    Checked like a save (editor of the chosen area) but nothing is written."""
    form = _form()
    if not form.area_id.choices:
        abort(403)
    layout = request.form.get("layout", "landscape")
    if layout not in signage_layouts.layouts():
        abort(404)
    errors: list[dict[str, str]] = []
    if form.validate():
        with refused(lambda err: errors.append(_problem(form, err.field, err.message))):
            disclosure, version = disclosures.preview_draft(db_session(), actor(), attachment_pages.kept_in(_input(form)), now(), local_zone())
            meta = signage_layouts.layouts()[layout]
            return jsonify(html=board_page(disclosure, version, layout)[0], width=meta["width"], height=meta["height"])
    for name, messages in form.errors.items():
        errors += [_problem(form, name, str(m)) for m in messages if name != "csrf_token"]
    return jsonify(errors=errors), 422


def _problem(form: DisclosureForm, name: str | None, message: str) -> dict[str, str]:
    field = getattr(form, (name or "").split(".")[0], None)
    label = str(field.label.text) if field is not None and hasattr(field, "label") else ""
    return {"field": name or "", "message": f"{label}：{message}" if label else message}


def _act(disclosure_id: int, action, success: str):
    done = False
    with refused(flashed):
        action(db_session())
        done = True
    if done:
        flash(success)
    return redirect(url_for("web.disclosure_detail", disclosure_id=disclosure_id))


@web.route("/admin/disclosures/<int:disclosure_id>/submit", methods=["POST"])
@signed_in
def disclosure_submit(disclosure_id: int):
    return _act(
        disclosure_id,
        lambda s: disclosures.submit(s, actor(), disclosure_id, now()),
        _("已提交审核，审核通过后将在屏幕上公开。"),
    )


@web.route("/admin/disclosures/<int:disclosure_id>/approve", methods=["POST"])
@signed_in
def disclosure_approve(disclosure_id: int):
    form = ReviewForm()
    expected = request.form.get("content_hash") or None
    return _act(
        disclosure_id,
        lambda s: disclosures.approve(
            s, actor(), disclosure_id, now(), form.comment.data or "", expected, local_zone()
        ),
        _("审核通过，内容已推送到相关屏幕。"),
    )


@web.route("/admin/disclosures/<int:disclosure_id>/default-loop", methods=["POST"])
@signed_in
def disclosure_default_loop(disclosure_id: int):
    """In or out of the area's default loop (editors and reviewers of the area decide)."""
    choice = request.form.get("in_default_loop", "")
    if choice not in ("0", "1"):
        abort(400)
    joins = choice == "1"
    return _act(
        disclosure_id,
        lambda s: schedules.set_default_loop(s, actor(), disclosure_id, joins, now()),
        _("已设为进入默认轮播：没有排期时，本区域的屏幕会播放它。") if joins
        else _("已设为不进入默认轮播：只有排进节目单时才会播放。"),
    )


@web.route("/admin/disclosures/<int:disclosure_id>/withdraw", methods=["POST"])
@signed_in
def disclosure_withdraw(disclosure_id: int):
    """Take an approved item down before its posting period ends (reviewers, with a reason)."""
    reason = ReasonForm().reason.data or ""
    return _act(
        disclosure_id,
        lambda s: disclosures.withdraw(s, actor(), disclosure_id, reason, now(), local_zone()),
        _("已撤回：所有屏幕和手机页面不再显示这项内容。"),
    )


@web.route("/admin/disclosures/<int:disclosure_id>/correct", methods=["POST"])
@signed_in
def disclosure_correct(disclosure_id: int):
    """Start a correction (更正): a new draft with the published content, to edit and submit."""
    reason = ReasonForm().reason.data or ""
    made = None
    with refused(flashed):
        made = disclosures.open_correction(db_session(), actor(), disclosure_id, reason, now())
    if made is None:
        return redirect(url_for("web.disclosure_detail", disclosure_id=disclosure_id))
    flash(_("已生成更正稿：请修改需要更正的内容，再提交审核。审核通过前，屏幕上仍显示原内容。"))
    return redirect(url_for("web.disclosure_edit", disclosure_id=made.id))


@web.route("/admin/disclosures/<int:disclosure_id>/reject", methods=["POST"])
@signed_in
def disclosure_reject(disclosure_id: int):
    form = ReviewForm()
    return _act(
        disclosure_id,
        lambda s: disclosures.reject(s, actor(), disclosure_id, now(), form.comment.data or ""),
        _("已退回给经办人修改。"),
    )
