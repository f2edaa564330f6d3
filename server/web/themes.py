"""The theme page of a county or township: palette, colours, header wording, type scale and
emblem, with a live preview of a board as the area's screens will show it."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import Length, Optional

import signage_layouts
from server.clock import now
from server.domain import areas, themes
from server.domain.errors import DomainError
from server.edge import flashed, refused
from server.extensions import db_session
from server.models import Area
from server.web import previews, web
from server.web.areas import admin
from server.web.auth import signed_in
from server.web.forms import choices, local_zone


class ThemeForm(FlaskForm):
    palette = RadioField(
        _l("配色"), default=themes.DEFAULT_PALETTE,
        choices=choices([(k, _l(p["label"])) for k, p in themes.PALETTES.items()]),
    )
    header = StringField(
        _l("页眉文字"), validators=[Optional(), Length(max=themes.HEADER_MAX, message=_l("最多 %(n)s 个字。", n=themes.HEADER_MAX))]
    )
    scale = RadioField(
        _l("字号"), default="standard", choices=choices([(k, _l(label)) for k, (_f, label) in themes.SCALES.items()])
    )
    emblem = FileField(_l("标志图片"))
    drop_emblem = BooleanField(_l("不用标志图片（显示默认的太阳图案）"))


# One optional text field per colour: empty keeps the palette's colour.
for _name, _label in themes.COLOURS.items():
    setattr(ThemeForm, _name, StringField(_l(_label), validators=[Optional()]))


def _input(form: ThemeForm) -> themes.ThemeInput:
    upload = form.emblem.data
    data = upload.read() if upload is not None and getattr(upload, "filename", None) else None
    return themes.ThemeInput(
        palette=form.palette.data or themes.DEFAULT_PALETTE,
        colours={name: (getattr(form, name).data or "") for name in themes.COLOURS},
        header=form.header.data or "",
        scale=form.scale.data or "standard",
        emblem=data,
        drop_emblem=bool(form.drop_emblem.data),
    )


@web.route("/admin/areas/<int:area_id>/theme", methods=["GET", "POST"])
@signed_in
def area_theme(area_id: int):
    session, user = db_session(), admin()
    area = areas.get_area(session, user, area_id)
    current = themes.effective(session, area)
    own = themes.own(session, area)
    form = ThemeForm()
    if request.method == "GET":
        form.palette.data, form.header.data, form.scale.data = current.palette, current.header, current.scale
        palette = themes.PALETTES[current.palette]["colours"]
        for name in themes.COLOURS:
            getattr(form, name).data = current.colours[name] if current.colours[name] != palette[name] else ""
    if request.method == "POST" and form.validate_on_submit():
        saved = None
        with refused(_onto(form)):
            saved = themes.save(session, user, area, _input(form), now())
        if saved is not None:
            flash(_("已保存“%(name)s”的样式，下属所有屏幕马上更新。", name=area.name))
            return redirect(url_for("web.area_theme", area_id=area.id))
    inherited_from = None
    if own is None and current.area_id is not None:
        inherited_from = session.get(Area, current.area_id)
    return render_template(
        "admin/area_theme.html", form=form, area=area, theme=current, own=own, inherited_from=inherited_from,
        may_style=area.kind in themes.THEME_KINDS, palettes=themes.PALETTES, colour_names=themes.COLOURS,
        layouts=signage_layouts.layouts(),
    ), (422 if form.errors else 200)


def _onto(form: ThemeForm) -> Any:
    def report(err: DomainError) -> None:
        field = getattr(form, (err.field or "").split(".")[0], None)
        if field is None or not hasattr(field, "errors"):
            flashed(err)
            return
        field.errors = [*field.errors, err.message]
        # Every colour too close to its background, not only the first.
        for name, message in (err.details.get("problems") or {}).items():
            other = getattr(form, name, None)
            if other is not None and other is not field:
                other.errors = [*other.errors, message]

    return report


@web.route("/admin/areas/<int:area_id>/theme/clear", methods=["POST"])
@signed_in
def area_theme_clear(area_id: int):
    session, user = db_session(), admin()
    area = areas.get_area(session, user, area_id)
    with refused(flashed):
        themes.clear(session, user, area, now())
        flash(_("已取消“%(name)s”本级的样式，改用上级的样式。", name=area.name))
    return redirect(url_for("web.area_theme", area_id=area.id))


# A board to preview a theme with: a table (header row, stripes), a category tag and a
# title, as a village's monthly accounts look on the screens.
SAMPLE_BOARD = {
    "title": "2026年11月村级财务收支公开",
    "kind": "table",
    "scope": "public",
    "category": "财务与党费",
    "catalogue_item": "村级财务收支",
    "valid_from": "2026-12-01T00:00:00+00:00",
    "valid_to": "2026-12-31T00:00:00+00:00",
    "body_html": "",
    "table": {
        "columns": ["日期", "摘要", "收入（元）", "支出（元）"],
        "rows": [
            ["11月03日", "上级转移支付", "50,000.00", ""],
            ["11月08日", "村道路灯维修", "", "3,260.00"],
            ["11月15日", "农家书屋图书采购", "", "1,480.50"],
            ["11月21日", "集体鱼塘承包费", "12,000.00", ""],
            ["11月28日", "环境整治人工费", "", "6,300.00"],
        ],
    },
}


@web.route("/admin/areas/<int:area_id>/theme/preview", methods=["POST"])
@signed_in
def area_theme_preview(area_id: int):
    """The form as typed, as a board on a screen of this area; or what is wrong with it.
    Checked like a save, nothing is written."""
    session, user = db_session(), admin()
    area = areas.get_area(session, user, area_id)
    layout = request.form.get("layout", "landscape")
    if layout not in signage_layouts.layouts():
        layout = "landscape"
    form = ThemeForm()
    errors: list[dict[str, str]] = []
    if form.validate():
        with refused(lambda err: errors.extend(_problems(form, err))):
            own = themes.own(session, area)
            theme = themes.build(_input(form), themes.effective(session, area) if own is not None else None)
            qr = signage_layouts.qr_svg(current_app.config["PUBLIC_URL"].rstrip("/") + "/q/preview")
            board = signage_layouts.render_board("table", {**SAMPLE_BOARD, "area": area.name, "timezone": local_zone()})
            page = previews.still_page(area, board.replace(signage_layouts.QR_SLOT, qr, 1), layout, theme)[0]
            meta = signage_layouts.layouts()[layout]
            return jsonify(html=page, width=meta["width"], height=meta["height"])
    for name, messages in form.errors.items():
        errors += [{"field": name, "message": str(m)} for m in messages if name != "csrf_token"]
    return jsonify(errors=errors), 422


def _problems(form: ThemeForm, err: DomainError) -> list[dict[str, str]]:
    found = err.details.get("problems") or {err.field or "": err.message}
    out = []
    for name, message in found.items():
        field = getattr(form, name, None)
        label = str(field.label.text) if field is not None and hasattr(field, "label") else ""
        out.append({"field": name, "message": f"{label}：{message}" if label and not message.startswith(label) else message})
    return out
