"""Admin pages for the area tree and its halls: create, rename, set code, move, retire."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from server.clock import now
from server.domain import areas
from server.domain.access import has_role
from server.domain.errors import Forbidden
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.models import Area, AreaKind, Role, Site, User
from server.web import web
from server.web.auth import actor, signed_in
from server.web.forms import choices


class AreaForm(FlaskForm):
    parent_id = SelectField(_l("上级区域"), coerce=int, validators=[DataRequired(_l("请选择上级区域。"))])
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=100, message=_l("最多 100 个字。"))])
    kind = SelectField(_l("类型"), choices=choices([(k.value, _l(label)) for k, label in areas.KIND_LABELS.items()]))
    code = StringField(_l("代码"), validators=[Optional(), Length(max=32, message=_l("最多 32 位。"))])


class AreaEditForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称。")), Length(max=100, message=_l("最多 100 个字。"))])
    code = StringField(_l("代码"), validators=[Optional(), Length(max=32, message=_l("最多 32 位。"))])


class MoveForm(FlaskForm):
    parent_id = SelectField(_l("移到"), coerce=int, validators=[DataRequired(_l("请选择新的上级区域。"))])


class SiteForm(FlaskForm):
    area_id = SelectField(_l("所属区域"), coerce=int, validators=[DataRequired(_l("请选择所属区域。"))])
    name = StringField(_l("场所名称"), validators=[DataRequired(_l("请填写场所名称。")), Length(max=100, message=_l("最多 100 个字。"))])
    address = StringField(_l("地址"), validators=[Optional(), Length(max=200, message=_l("最多 200 个字。"))])
    contact_name = StringField(_l("联系人"), validators=[Optional(), Length(max=64, message=_l("最多 64 个字。"))])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=32, message=_l("最多 32 位。"))])


def admin() -> User:
    """The signed-in user, who must be an admin somewhere to use these pages."""
    user = actor()
    if not has_role(user, Role.admin):
        raise Forbidden(_("你没有“管理员”权限。"))
    return user


def _indent(area: Area, depth: int) -> str:
    return "　" * depth + area.name


def _parent_choices(user: User, kind_of_child: AreaKind | None = None, exclude: Area | None = None):
    """Areas that may hold a new (or moved) area: active, in scope, not inside `exclude`."""
    offered = areas.offered_areas(db_session(), user, Role.admin)
    return choices([
        (str(a.id), _indent(a, depth)) for a, depth in offered
        if areas.CHILD_KINDS[a.kind]
        and (kind_of_child is None or kind_of_child in areas.CHILD_KINDS[a.kind])
        and not (exclude is not None and a.path.startswith(exclude.path))
    ])


@web.route("/admin/areas")
@signed_in
def area_list() -> str:
    session, user = db_session(), admin()
    tree = areas.admin_tree(session, user)
    sites: dict[int, list[Site]] = {}
    for site in areas.admin_sites(session, user):
        sites.setdefault(site.area_id, []).append(site)
    return render_template("admin/areas.html", tree=tree, sites=sites, kind_labels=areas.KIND_LABELS)


@web.route("/admin/areas/new", methods=["GET", "POST"])
@signed_in
def area_new():
    user = admin()
    form = AreaForm()
    form.parent_id.choices = _parent_choices(user)
    if request.method == "GET" and request.args.get("parent_id", "").isdigit():
        form.parent_id.data = int(request.args["parent_id"])
    if form.validate_on_submit():
        made = None
        with refused(onto(form, "name")):
            made = areas.add_area(
                db_session(), user, form.parent_id.data, form.name.data or "", AreaKind(form.kind.data),
                now(), code=form.code.data,
            )
        if made is not None:
            flash(_("已新建区域“%(name)s”。", name=made.name))
            return redirect(url_for("web.area_list"))
    return render_template("admin/area_form.html", form=form, area=None), (422 if form.errors else 200)


def _edit_page(area: Area, form: AreaEditForm, move: MoveForm):
    move.parent_id.choices = _parent_choices(actor(), area.kind, exclude=area)
    status = 422 if form.errors or move.errors else 200
    return render_template("admin/area_form.html", form=form, move=move, area=area,
                           kind_labels=areas.KIND_LABELS), status


@web.route("/admin/areas/<int:area_id>/edit", methods=["GET", "POST"])
@signed_in
def area_edit(area_id: int):
    session, user = db_session(), admin()
    area = areas.get_area(session, user, area_id)
    form = AreaEditForm(obj=area if request.method == "GET" else None)
    if form.validate_on_submit():
        saved = None
        with refused(onto(form, "name")):
            saved = areas.edit_area(session, user, area.id, now(), name=form.name.data or "", code=form.code.data)
        if saved is not None:
            flash(_("已保存区域“%(name)s”。", name=saved.name))
            return redirect(url_for("web.area_list"))
    move = MoveForm(formdata=None, parent_id=area.parent_id)
    return _edit_page(area, form, move)


@web.route("/admin/areas/<int:area_id>/move", methods=["POST"])
@signed_in
def area_move(area_id: int):
    session, user = db_session(), admin()
    area = areas.get_area(session, user, area_id)
    move = MoveForm()
    move.parent_id.choices = _parent_choices(user, area.kind, exclude=area)
    if move.validate_on_submit():
        moved = None
        with refused(onto(move, "parent_id")):
            moved = areas.move_area(session, user, area.id, move.parent_id.data, now())
        if moved is not None:
            flash(_("已把“%(name)s”移到“%(parent)s”下。", name=moved.name, parent=moved.parent.name if moved.parent else ""))
            return redirect(url_for("web.area_list"))
    return _edit_page(area, AreaEditForm(formdata=None, obj=area), move)


@web.route("/admin/areas/<int:area_id>/retire", methods=["POST"])
@signed_in
def area_retire(area_id: int):
    user = admin()
    with refused(flashed):
        retired = areas.retire_area(db_session(), user, area_id, now())
        flash(_("已停用区域“%(name)s”。", name=retired.name))
    return redirect(url_for("web.area_list"))


@web.route("/admin/sites/new", methods=["GET", "POST"])
@signed_in
def site_new():
    user = admin()
    form = SiteForm()
    offered = areas.offered_areas(db_session(), user, Role.admin)
    form.area_id.choices = choices([(str(a.id), _indent(a, depth)) for a, depth in offered])
    if request.method == "GET" and request.args.get("area_id", "").isdigit():
        form.area_id.data = int(request.args["area_id"])
    if form.validate_on_submit():
        made = None
        with refused(onto(form, "name")):
            made = areas.add_site(
                db_session(), user, form.area_id.data, now(), name=form.name.data or "",
                address=form.address.data or "", contact_name=form.contact_name.data or "",
                contact_phone=form.contact_phone.data or "",
            )
        if made is not None:
            flash(_("已新建场所“%(name)s”。", name=made.name))
            return redirect(url_for("web.area_list"))
    return render_template("admin/site_form.html", form=form, site=None), (422 if form.errors else 200)


@web.route("/admin/sites/<int:site_id>/edit", methods=["GET", "POST"])
@signed_in
def site_edit(site_id: int):
    session, user = db_session(), admin()
    site = areas.get_site(session, user, site_id)
    form = SiteForm(obj=site if request.method == "GET" else None)
    del form.area_id
    if form.validate_on_submit():
        saved = None
        with refused(onto(form, "name")):
            saved = areas.edit_site(
                session, user, site.id, now(), name=form.name.data or "", address=form.address.data or "",
                contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "",
            )
        if saved is not None:
            flash(_("已保存场所“%(name)s”。", name=saved.name))
            return redirect(url_for("web.area_list"))
    return render_template("admin/site_form.html", form=form, site=site), (422 if form.errors else 200)


@web.route("/admin/sites/<int:site_id>/retire", methods=["POST"])
@signed_in
def site_retire(site_id: int):
    user = admin()
    with refused(flashed):
        retired = areas.retire_site(db_session(), user, site_id, now())
        flash(_("已停用场所“%(name)s”。", name=retired.name))
    return redirect(url_for("web.area_list"))
