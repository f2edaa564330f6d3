"""Admin pages for the disclosure catalogue of each organisation type: read by anyone
signed in; changed (categories, items, order, retire, spreadsheet import) only by an
admin granted at a county or township (`catalogue.may_edit`), since the catalogue is
shared by the whole install."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from server.clock import now
from server.domain import catalogue, catalogue_sheets, imports
from server.domain.catalogue import (
    FORM_LABELS,
    KIND_LABELS,
    PERIOD_LABELS,
    SCOPE_LABELS,
    TIMING_LABELS,
    ItemInput,
)
from server.domain.errors import DomainError, Forbidden, NotFound, ValidationFailed
from server.edge import abandon, after_commit, flashed, onto, refused
from server.extensions import db_session
from server.models import CATALOGUE_KINDS, AreaKind, CatalogueCategory, CatalogueItem, User
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import choices

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ItemForm(FlaskForm):
    category_id = SelectField(_l("分类"), coerce=int, validators=[DataRequired(_l("请选择分类。"))])
    title = StringField(_l("事项"), validators=[DataRequired(_l("请填写事项名称。")),
                                              Length(max=catalogue.TITLE_MAX, message=_l("最多 120 个字。"))])
    scope = RadioField(_l("公开范围"), default="public", choices=choices([(k, _l(v)) for k, v in SCOPE_LABELS.items()]))
    internal_days = StringField(_l("党内先行天数"), validators=[Length(max=6)])
    timing = RadioField(_l("公开时限"), default="ad_hoc",
                        choices=choices([(t.value, _l(v)) for t, v in TIMING_LABELS.items()]))
    period = SelectField(_l("周期"), default="",
                         choices=choices([("", _l("（不定期）")), *((p.value, _l(v)) for p, v in PERIOD_LABELS.items())]))
    stages = TextAreaField(_l("阶段"), render_kw={"rows": 4})
    deadline_days = StringField(_l("期限天数"), default="7", validators=[
        DataRequired(_l("请填写期限天数。")), Length(max=6)])
    forms = MultiCheckboxField(_l("公开形式"), default=["screen"],
                               choices=choices([(k, _l(v)) for k, v in FORM_LABELS.items()]))
    responsible_department = StringField(_l("责任部门"), validators=[Length(max=catalogue.NAME_MAX, message=_l("最多 64 个字。"))])
    responsible_person = StringField(_l("责任人"), validators=[Length(max=catalogue.PERSON_MAX, message=_l("最多 64 个字。"))])


class CategoryForm(FlaskForm):
    name = StringField(_l("分类名称"), validators=[DataRequired(_l("请填写分类名称。")), Length(max=64, message=_l("最多 64 个字。"))])


class ImportForm(FlaskForm):
    file = FileField(_l("目录文件"), validators=[FileRequired(_l("请选择 .xlsx 文件。"))])
    retire_missing = BooleanField(_l("文件中没有的现有目录项一并停用"))


def _kind(value: str) -> AreaKind:
    return catalogue.catalogue_kind(value)


def _editor() -> User:
    user = actor()
    if not catalogue.may_edit(user):
        raise Forbidden(_("只有县级或乡镇管理员可以修改公开目录。"))
    return user


def _days(field: Any) -> int:
    """A field of whole days; a non-number is reported beside it (and counts as 0)."""
    text = (field.data or "").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        field.errors = [*field.errors, _("请填写整数天数。")]
        return 0


def _input(form: ItemForm) -> ItemInput:
    return ItemInput(
        title=form.title.data or "",
        scope=form.scope.data or "",
        internal_days=_days(form.internal_days),
        timing=form.timing.data or "",
        period=form.period.data or "",
        stages=[s for s in catalogue_sheets.STAGE_SPLIT.split(form.stages.data or "") if s.strip()],
        deadline_days=_days(form.deadline_days),
        forms=list(form.forms.data or []),
        responsible_department=form.responsible_department.data or "",
        responsible_person=form.responsible_person.data or "",
    )


def _onto_fields(form: FlaskForm) -> Any:
    """Report every problem of a refused item beside the field it names."""
    fallback = onto(form)

    def report(err: DomainError) -> None:
        problems = err.details.get("problems") or [{"field": err.field, "message": err.message}]
        for problem in problems:
            # the field's own label is shown beside it already: "阶段：阶段：…" reads badly
            label = catalogue.FIELD_LABELS.get(problem["field"] or "", "")
            message = problem["message"].removeprefix(f"{label}：") if label else problem["message"]
            fallback(DomainError(message, field=problem["field"]))

    return report


def _category_choices(kind: AreaKind) -> list[Any]:
    return choices([(str(c.id), c.name) for c in catalogue.categories(db_session(), kind)])


def _back(kind: AreaKind, anchor: str = "") -> Any:
    return redirect(url_for("web.catalogue_list", kind=kind.value) + (f"#{anchor}" if anchor else ""))


@web.route("/admin/catalogue")
@signed_in
def catalogue_index() -> str:
    session = db_session()
    counts = {kind: len(catalogue.live_items(session, kind)) for kind in CATALOGUE_KINDS}
    return render_template("admin/catalogue_index.html", counts=counts, kind_labels=KIND_LABELS,
                           may_edit=catalogue.may_edit(actor()))


@web.route("/admin/catalogue/<kind>")
@signed_in
def catalogue_list(kind: str) -> str:
    org_kind = _kind(kind)
    session = db_session()
    cats = catalogue.categories(session, org_kind)
    return render_template(
        "admin/catalogue.html", kind=org_kind, kind_labels=KIND_LABELS, categories=cats,
        may_edit=catalogue.may_edit(actor()), scope_of=catalogue.scope_choice, scope_labels=SCOPE_LABELS,
        timing_labels=TIMING_LABELS, period_labels={p.value: v for p, v in PERIOD_LABELS.items()},
        form_labels=FORM_LABELS, category_form=CategoryForm(), show_retired=request.args.get("retired") == "1",
    )


@web.route("/admin/catalogue/<kind>/items/new", methods=["GET", "POST"])
@signed_in
def catalogue_item_new(kind: str):
    org_kind, user = _kind(kind), _editor()
    form = ItemForm()
    form.category_id.choices = _category_choices(org_kind)
    if request.method == "GET" and request.args.get("category", "").isdigit():
        form.category_id.data = int(request.args["category"])
    data = _input(form) if form.validate_on_submit() else None
    if data is not None and not form.errors:
        with refused(_onto_fields(form)):
            item = catalogue.create_item(db_session(), user, form.category_id.data, data, now())
            flash(_("已新建目录项“%(title)s”。", title=item.title))
            return _back(org_kind, f"item-{item.id}")
    return render_template("admin/catalogue_item_form.html", form=form, kind=org_kind, kind_labels=KIND_LABELS,
                           item=None), (422 if form.errors else 200)


@web.route("/admin/catalogue/items/<int:item_id>/edit", methods=["GET", "POST"])
@signed_in
def catalogue_item_edit(item_id: int):
    session, user = db_session(), _editor()
    item = session.get(CatalogueItem, item_id)
    if item is None:
        raise NotFound(_("未找到该目录项。"))
    org_kind = item.category.org_kind
    form = ItemForm()
    form.category_id.choices = _category_choices(org_kind)
    if request.method == "GET":
        data = ItemInput.of(item)
        form.category_id.data = item.category_id
        form.title.data, form.scope.data = data.title, data.scope
        form.internal_days.data = str(data.internal_days or "")
        form.timing.data, form.period.data = data.timing, data.period
        form.stages.data = "\n".join(data.stages)
        form.deadline_days.data, form.forms.data = str(data.deadline_days), data.forms
        form.responsible_department.data = data.responsible_department
        form.responsible_person.data = data.responsible_person
    given = _input(form) if form.validate_on_submit() else None
    if given is not None and not form.errors:
        with refused(_onto_fields(form)):
            catalogue.update_item(session, user, item.id, given, now(), category_id=form.category_id.data)
            flash(_("已保存目录项“%(title)s”。", title=item.title))
            return _back(org_kind, f"item-{item.id}")
    return render_template("admin/catalogue_item_form.html", form=form, kind=org_kind, kind_labels=KIND_LABELS,
                           item=item, in_use=catalogue.in_use(session, item.id)), (422 if form.errors else 200)


ITEM_ACTIONS = {
    "up": lambda s, u, i, t: catalogue.move_item(s, u, i, -1, t),
    "down": lambda s, u, i, t: catalogue.move_item(s, u, i, 1, t),
    "retire": catalogue.retire_item,
    "restore": catalogue.restore_item,
    "delete": catalogue.delete_item,
}
ITEM_DONE = {"retire": _l("已停用“%(title)s”。"), "restore": _l("已恢复“%(title)s”。"), "delete": _l("已删除“%(title)s”。")}


@web.route("/admin/catalogue/items/<int:item_id>/<action>", methods=["POST"])
@signed_in
def catalogue_item_action(item_id: int, action: str):
    session, user = db_session(), _editor()
    item = session.get(CatalogueItem, item_id)
    if item is None or action not in ITEM_ACTIONS:
        raise NotFound(_("未找到该目录项。"))
    org_kind, title = item.category.org_kind, item.title
    with refused(flashed):
        ITEM_ACTIONS[action](session, user, item.id, now())
        if action in ITEM_DONE:
            flash(str(ITEM_DONE[action]) % {"title": title})
    return _back(org_kind, "" if action == "delete" else f"item-{item_id}")


@web.route("/admin/catalogue/<kind>/categories", methods=["POST"])
@signed_in
def catalogue_category_new(kind: str):
    org_kind, user = _kind(kind), _editor()
    form = CategoryForm()
    if not form.validate_on_submit():
        for error in form.name.errors:
            flash(f"{_('分类名称')}：{error}", "error")
        return _back(org_kind)
    with refused(flashed):
        category = catalogue.create_category(db_session(), user, org_kind, form.name.data or "", now())
        flash(_("已新建分类“%(name)s”。", name=category.name))
    return _back(org_kind)


@web.route("/admin/catalogue/categories/<int:category_id>/<action>", methods=["POST"])
@signed_in
def catalogue_category_action(category_id: int, action: str):
    session, user = db_session(), _editor()
    category = session.get(CatalogueCategory, category_id)
    if category is None or action not in ("up", "down", "rename", "delete"):
        raise NotFound(_("未找到该目录分类。"))
    org_kind = category.org_kind
    with refused(flashed):
        if action == "rename":
            catalogue.rename_category(session, user, category.id, request.form.get("name", ""), now())
        elif action == "delete":
            catalogue.delete_category(session, user, category.id, now())
            flash(_("已删除分类。"))
        else:
            catalogue.move_category(session, user, category.id, -1 if action == "up" else 1, now())
    return _back(org_kind, f"category-{category_id}" if action != "delete" else "")


@web.route("/admin/catalogue/<kind>/export.xlsx")
@signed_in
def catalogue_export(kind: str):
    org_kind = _kind(kind)
    data = catalogue_sheets.export_xlsx(db_session(), org_kind)
    return Response(data, mimetype=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=sunwall-catalogue-{org_kind.value}.xlsx"})


def _stash_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "catalogue-imports"


def _import_page(org_kind: AreaKind, form: ImportForm, plan: catalogue_sheets.Plan | None = None,
                 stash_id: str | None = None, filename: str = "", retire_missing: bool = False):
    status = 422 if (plan is not None and plan.problems) or form.errors else 200
    return render_template(
        "admin/catalogue_import.html", kind=org_kind, kind_labels=KIND_LABELS, form=form, plan=plan,
        stash_id=stash_id, filename=filename, retire_missing=retire_missing, headers=catalogue_sheets.HEADERS,
        status_labels=catalogue_sheets.STATUS_LABELS, max_rows=catalogue_sheets.MAX_ROWS,
    ), status


@web.route("/admin/catalogue/<kind>/import", methods=["GET", "POST"])
@signed_in
def catalogue_import(kind: str):
    org_kind, user = _kind(kind), _editor()
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename, data = upload.filename or "", upload.read(catalogue_sheets.MAX_BYTES + 1)
        retire_missing = bool(form.retire_missing.data)
        plan = catalogue_sheets.preview(db_session(), org_kind, filename, data, retire_missing)
        stash_id = None
        if not plan.problems and plan.changes_anything():
            stash_id = imports.stash(_stash_dir(), user.id, filename, data, now())
        return _import_page(org_kind, form, plan, stash_id, filename, retire_missing)
    return _import_page(org_kind, form)


@web.route("/admin/catalogue/<kind>/import/<stash_id>/apply", methods=["POST"])
@signed_in
def catalogue_import_apply(kind: str, stash_id: str):
    org_kind, user, moment = _kind(kind), _editor(), now()
    session = db_session()
    filename, data = imports.unstash(_stash_dir(), stash_id, user.id, moment)
    retire_missing = request.form.get("retire_missing") == "1"
    try:
        counts = catalogue_sheets.apply(session, user, org_kind, filename, data, moment, retire_missing)
    except ValidationFailed:
        # The catalogue changed since the preview: show the file's problems as they are now.
        abandon()
        plan = catalogue_sheets.preview(session, org_kind, filename, data, retire_missing)
        return _import_page(org_kind, ImportForm(), plan, None, filename, retire_missing)
    after_commit(lambda: imports.discard(_stash_dir(), stash_id))
    flash(_("已导入公开目录：新增 %(new)s 项，修改 %(changed)s 项，恢复 %(restored)s 项，停用 %(retired)s 项，新建分类 %(categories)s 个。",
            **counts))
    return _back(org_kind)
