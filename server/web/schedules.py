"""Admin pages for scheduling: playlists, schedule entries, device groups and the
"what plays where" week view. The rules live in server.domain.schedules; these views
parse the forms, call it, and show its answers (errors beside the field they name).

Every form works without JavaScript: a playlist's rows move up and down, are removed and
added with submit buttons that redraw the form as typed (nothing is saved until 保存).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pydantic import BaseModel, ConfigDict, Field
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

import signage_layouts
from server.clock import now
from server.domain import manifests, schedules
from server.domain.access import READ_ROLES
from server.domain.errors import DomainError, ValidationFailed
from server.edge import flashed, onto, refused
from server.extensions import db_session
from server.inputs import parse_query
from server.models import (
    Audience,
    BoardKind,
    Device,
    DeviceGroup,
    Playlist,
    ScheduleEntry,
    Scope,
    TargetKind,
)
from server.web import previews, web
from server.web.auth import actor, signed_in
from server.web.disclosures import board_page
from server.web.forms import choices, local_zone
from signage_layouts import dates

BLANK_ROWS_NEW = 3
WEEKDAY_CHOICES = [
    SelectChoice(str(day), label)
    for day, label in enumerate((_l("周一"), _l("周二"), _l("周三"), _l("周四"), _l("周五"), _l("周六"), _l("周日")))
]
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2199, 12, 24)
TARGET_GROUPS = {
    TargetKind.area: _l("区域（该区域及下级的全部屏幕）"),
    TargetKind.site: _l("场所（一个大厅的全部屏幕）"),
    TargetKind.group: _l("屏幕分组"),
    TargetKind.device: _l("单块屏幕"),
}
# Playlist colours in the week grid: readable dark text on each.
PALETTE = ("#f7c59f", "#a9d8b8", "#b7c9f2", "#f4b6c2", "#d8c3ee", "#f1df8f", "#9fd8dc", "#e6c9a8")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _today() -> dt.date:
    return dates.local_day(now(), local_zone())


def _cn_day(day: dt.date | None) -> str:
    return dates.cn_date(dates.day_start(day, local_zone()), local_zone()) if day else ""


def loop_length(seconds: int) -> str:
    """One pass of a loop, as people say it: 50 秒, 1 分 5 秒, 2 分."""
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return _("%(s)s 秒", s=rest)
    if not rest:
        return _("%(m)s 分", m=minutes)
    return _("%(m)s 分 %(s)s 秒", m=minutes, s=rest)


def _forbidden_without_areas(areas: list[Any]) -> None:
    if not areas:
        abort(403)


def _depth_choices(pairs: list[tuple[Any, int]]) -> list[SelectChoice]:
    return [SelectChoice(str(a.id), "　" * depth + a.name) for a, depth in pairs]


# =========================================================================== playlists


class ItemRow(Form):
    board = SelectField(_l("内容"), validate_choice=False)
    seconds = StringField(_l("秒数"), validators=[Optional()])


class PlaylistForm(FlaskForm):
    area_id = SelectField(_l("所属区域"), coerce=int, validators=[DataRequired(_l("请选择所属区域。"))])
    name = StringField(_l("节目单名称"), validators=[DataRequired(_l("请填写节目单名称。")), Length(max=60, message=_l("最多 60 个字。"))])
    items = FieldList(FormField(ItemRow), max_entries=schedules.MAX_ITEMS + 20)


def _board_choices(candidates: list[Any], kept: list[Any]) -> list[SelectChoice]:
    out = [
        SelectChoice("", _("（空行，不播放）")),
        SelectChoice("echo", _("回音壁（每块屏幕显示本区域已公开的答复）"), optgroup=_("回音壁")),
    ]
    listed = set()
    for d in [*candidates, *kept]:
        if d.id in listed:
            continue
        listed.add(d.id)
        label = d.title
        if d.scope is Scope.internal:
            label += _("（党内）")
        if d in kept and d not in candidates:
            label += _("（已过公开期或已撤下，不再播放）")
        out.append(SelectChoice(f"d{d.id}", label, optgroup=d.area.name))
    return out


def _rows(form: PlaylistForm) -> list[dict[str, str]]:
    return [{"board": e.form.board.data or "", "seconds": e.form.seconds.data or ""} for e in form.items.entries]


def _set_rows(form: PlaylistForm, rows: list[dict[str, str]]) -> None:
    while form.items.entries:
        form.items.pop_entry()
    for row in rows:
        form.items.append_entry(row)


def _rearranged(rows: list[dict[str, str]], op: str) -> list[dict[str, str]]:
    """The rows after one of the form's own buttons: add, up-N, down-N, remove-N."""
    rows = list(rows)
    if op == "add":
        return [*rows, {"board": "", "seconds": ""}]
    match = re.fullmatch(r"(up|down|remove)-([0-9]{1,3})", op)
    if match is None:
        return rows
    n = int(match[2])
    if match[1] == "remove" and n < len(rows):
        del rows[n]
    elif match[1] == "up" and 0 < n < len(rows):
        rows[n - 1], rows[n] = rows[n], rows[n - 1]
    elif match[1] == "down" and n + 1 < len(rows):
        rows[n], rows[n + 1] = rows[n + 1], rows[n]
    return rows


def _parsed_items(form: PlaylistForm) -> tuple[list[schedules.ItemInput], list[int]] | None:
    """The typed rows as items (blank rows skipped) and the row of each; None when a row
    cannot be read (its error is set beside it)."""
    items: list[schedules.ItemInput] = []
    where: list[int] = []
    readable = True
    for n, entry in enumerate(form.items.entries):
        row = entry.form
        value, seconds = (row.board.data or "").strip(), (row.seconds.data or "").strip()
        if not value:
            continue
        duration = None
        if seconds:
            if not re.fullmatch(r"[0-9]{1,6}", seconds):
                row.seconds.errors = [_("请填写整数秒数，或留空使用默认时长。")]
                readable = False
                continue
            duration = int(seconds)
        if value == "echo":
            items.append(schedules.ItemInput(BoardKind.echo_wall, None, duration))
        elif re.fullmatch(r"d[0-9]{1,18}", value):
            items.append(schedules.ItemInput(BoardKind.disclosure, int(value[1:]), duration))
        else:
            row.board.errors = [_("请从列表中选择内容。")]
            readable = False
            continue
        where.append(n)
    return (items, where) if readable else None


def _onto_rows(form: PlaylistForm, where: list[int]) -> Callable[[DomainError], None]:
    """Report a domain error beside the row it names (items.N.field), else beside its field."""
    fallback = onto(form, "name")

    def report(err: DomainError) -> None:
        match = re.fullmatch(r"items\.([0-9]+)\.(\w+)", err.field or "")
        if match and int(match[1]) < len(where):
            row = form.items.entries[where[int(match[1])]].form
            target = row.seconds if match[2] == "duration" else row.board
            target.errors = [*target.errors, err.message]
        elif err.field == "items":
            form.items_errors.append(err.message)
        else:
            fallback(err)

    return report


def _playlist_form(playlist: Playlist | None) -> PlaylistForm:
    session, user = db_session(), actor()
    form = PlaylistForm()
    form.items_errors = []
    areas = schedules.schedulable_areas(session, user)
    if playlist is None:
        _forbidden_without_areas(areas)
        form.area_id.choices = _depth_choices(areas)
    else:
        del form.area_id
    candidates = schedules.item_candidates(session, user, now(), playlist.area if playlist else None)
    kept = [i.disclosure for i in playlist.items if i.disclosure is not None] if playlist else []
    if request.method == "GET":
        if playlist is None:
            if request.args.get("area_id", "").isdigit():
                form.area_id.data = int(request.args["area_id"])
            _set_rows(form, [{"board": "", "seconds": ""}] * BLANK_ROWS_NEW)
        else:
            form.name.data = playlist.name
            rows = [
                {"board": "echo" if i.kind is BoardKind.echo_wall else f"d{i.disclosure_id}", "seconds": str(i.duration or "")}
                for i in playlist.items
            ]
            _set_rows(form, [*rows, {"board": "", "seconds": ""}])
    op = request.form.get("op", "save") if request.method == "POST" else "save"
    if op != "save":
        _set_rows(form, _rearranged(_rows(form), op))
    board_choices = _board_choices(candidates, kept)
    for entry in form.items.entries:
        entry.form.board.choices = board_choices
    form.op = op
    return form


def _playlist_page(form: PlaylistForm, playlist: Playlist | None):
    errors = form.errors or form.items_errors or any(e.form.errors for e in form.items.entries)
    page = render_template(
        "admin/schedule_playlist_form.html", form=form, playlist=playlist,
        rearranged=form.op != "save", min_seconds=schedules.MIN_SECONDS, max_seconds=schedules.MAX_SECONDS,
    )
    return page, (422 if errors and form.op == "save" and request.method == "POST" else 200)


def _save_playlist(form: PlaylistForm, playlist: Playlist | None) -> Playlist | None:
    if form.op != "save" or not form.validate_on_submit():
        return None
    parsed = _parsed_items(form)
    if parsed is None:
        return None
    items, where = parsed
    saved = None
    with refused(_onto_rows(form, where)):
        if playlist is None:
            saved = schedules.create_playlist(db_session(), actor(), form.area_id.data, form.name.data or "", items, now())
        else:
            saved = schedules.update_playlist(db_session(), actor(), playlist.id, form.name.data or "", items, now())
    return saved


@web.route("/admin/playlists")
@signed_in
def playlist_list():
    session, user = db_session(), actor()
    rows = [(p, *schedules.loop_plan(p, now())) for p in schedules.list_playlists(session, user)]
    return render_template("admin/schedule_playlists.html", rows=rows, internal=schedules.holds_internal, loop_length=loop_length)


@web.route("/admin/playlists/new", methods=["GET", "POST"])
@signed_in
def playlist_new():
    form = _playlist_form(None)
    saved = _save_playlist(form, None)
    if saved is not None:
        flash(_("已新建节目单“%(name)s”。下一步：把它排到屏幕上。", name=saved.name))
        return redirect(url_for("web.playlist_show", playlist_id=saved.id))
    return _playlist_page(form, None)


@web.route("/admin/playlists/<int:playlist_id>/edit", methods=["GET", "POST"])
@signed_in
def playlist_edit(playlist_id: int):
    playlist = schedules.get_playlist(db_session(), actor(), playlist_id)
    form = _playlist_form(playlist)
    saved = _save_playlist(form, playlist)
    if saved is not None:
        flash(_("已保存节目单“%(name)s”，相关屏幕马上更新。", name=saved.name))
        return redirect(url_for("web.playlist_show", playlist_id=saved.id))
    return _playlist_page(form, playlist)


@web.route("/admin/playlists/<int:playlist_id>")
@signed_in
def playlist_show(playlist_id: int):
    """The whole loop: each board as screens show it, its seconds, and the loop's length."""
    playlist = schedules.get_playlist(db_session(), actor(), playlist_id)
    layout = request.args.get("layout", "landscape")
    if layout not in signage_layouts.layouts() or set(request.args) - {"layout"}:
        abort(400)
    steps, total = schedules.loop_plan(playlist, now())
    return render_template(
        "admin/schedule_playlist.html", playlist=playlist, steps=steps, total=total, layout=layout,
        layouts=signage_layouts.layouts(), internal=schedules.holds_internal(playlist.items), loop_length=loop_length,
    )


@web.route("/admin/playlists/<int:playlist_id>/boards/<int:position>/<layout>")
@signed_in
def playlist_board(playlist_id: int, position: int, layout: str):
    """One board of the loop in a layout, as the disclosure pages preview it."""
    playlist = schedules.get_playlist(db_session(), actor(), playlist_id)
    item = next((i for i in playlist.items if i.position == position), None)
    if item is None or layout not in signage_layouts.layouts():
        abort(404)
    if item.disclosure is not None:
        version = item.disclosure.published_version or item.disclosure.latest_version
        return board_page(item.disclosure, version, layout)
    html = schedules.echo_wall_html(db_session(), playlist.area, now(), manifests.Settings.from_config(current_app.config))
    qr = signage_layouts.qr_svg(current_app.config["PUBLIC_URL"].rstrip("/") + "/q/preview")
    html = html.replace(signage_layouts.QR_SLOT, qr, 1)
    return previews.still_page(playlist.area, html, layout)


@web.route("/admin/playlists/<int:playlist_id>/retire", methods=["POST"])
@signed_in
def playlist_retire(playlist_id: int):
    with refused(flashed):
        retired = schedules.retire_playlist(db_session(), actor(), playlist_id, now())
        flash(_("已停用节目单“%(name)s”。", name=retired.name))
        return redirect(url_for("web.playlist_list"))
    return redirect(url_for("web.playlist_show", playlist_id=playlist_id))


# =========================================================================== entries


class DaypartRow(Form):
    start = StringField(_l("开始"), validators=[Optional()])
    end = StringField(_l("结束"), validators=[Optional()])


class EntryForm(FlaskForm):
    # The domain checks the choices (and says why one is out of reach): not the form.
    playlist_id = SelectField(_l("节目单"), coerce=int, validate_choice=False, validators=[DataRequired(_l("请选择节目单。"))])
    target_id = SelectField(_l("播放到"), validate_choice=False, validators=[DataRequired(_l("请选择在哪里播放。"))])
    audience = RadioField(
        _l("播放范围"), default="all",
        choices=choices([("all", _l("所有屏幕")), ("internal", _l("只在党内屏播放（党员活动室等标为党内的屏幕）"))]),
    )
    starts_on = DateField(_l("开始日期"), validators=[DataRequired(_l("请填写开始日期。"))])
    ends_on = DateField(_l("结束日期"), validators=[Optional()])
    weekdays = MultiCheckboxField(_l("星期"), coerce=int, choices=WEEKDAY_CHOICES, default=list(range(7)))
    dayparts = FieldList(FormField(DaypartRow), min_entries=schedules.MAX_DAYPARTS, max_entries=schedules.MAX_DAYPARTS)
    priority = StringField(_l("优先级"), default=str(schedules.DEFAULT_PRIORITY))
    note = StringField(_l("备注"), validators=[Optional(), Length(max=200, message=_l("最多 200 个字。"))])
    read_aloud = BooleanField(_l("播放时朗读（屏幕的喇叭读出每一项内容）"))


def _target_choices(targets: schedules.Targets) -> list[SelectChoice]:
    out: list[SelectChoice] = []
    group = str(TARGET_GROUPS[TargetKind.area])
    out += [SelectChoice(f"area:{a.id}", "　" * depth + a.name, optgroup=group) for a, depth in targets.areas]
    group = str(TARGET_GROUPS[TargetKind.site])
    out += [SelectChoice(f"site:{s.id}", f"{s.area.name} · {s.name}", optgroup=group) for s in targets.sites]
    group = str(TARGET_GROUPS[TargetKind.group])
    out += [SelectChoice(f"group:{g.id}", f"{g.area.name} · {g.name}", optgroup=group) for g in targets.groups]
    group = str(TARGET_GROUPS[TargetKind.device])
    out += [
        SelectChoice(f"device:{d.id}", f"{d.site.name} · {d.name}" + (_("（党内屏）") if d.internal else ""), optgroup=group)
        for d in targets.devices
    ]
    return out


def _entry_input(form: EntryForm) -> schedules.EntryInput | None:
    """The form as the domain's input; None when a field cannot be read (error set on it)."""
    readable = True
    kind_and_id = re.fullmatch(r"(area|site|group|device):([0-9]{1,18})", form.target_id.data or "")
    if kind_and_id is None:
        form.target_id.errors = [_("请从列表中选择在哪里播放。")]
        readable = False
    priority_text = (form.priority.data or "").strip()
    if not re.fullmatch(r"[0-9]{1,3}", priority_text):
        form.priority.errors = [_("请填写 1 到 100 之间的整数。")]
        readable = False
    dayparts: list[tuple[int, int]] = []
    for n, entry in enumerate(form.dayparts.entries):
        row = entry.form
        start, end = (row.start.data or "").strip(), (row.end.data or "").strip()
        if not start and not end:
            continue
        if not start or not end:
            (row.end if start else row.start).errors = [_("请同时填写开始和结束时间。")]
            readable = False
            continue
        try:
            dayparts.append((
                schedules.parse_clock(start, f"dayparts.{n}.start"),
                schedules.parse_clock(end, f"dayparts.{n}.end", end=True),
            ))
        except ValidationFailed as err:
            (row.end if (err.field or "").endswith(".end") else row.start).errors = [err.message]
            readable = False
    if not readable or kind_and_id is None:
        return None
    return schedules.EntryInput(
        playlist_id=form.playlist_id.data, target_kind=TargetKind(kind_and_id[1]), target_id=int(kind_and_id[2]),
        starts_on=form.starts_on.data, ends_on=form.ends_on.data, weekdays=frozenset(form.weekdays.data or ()),
        dayparts=tuple(dayparts), priority=int(priority_text), audience=Audience(form.audience.data or "all"),
        note=form.note.data or "", read_aloud=bool(form.read_aloud.data),
    )


def _entry_report(form: EntryForm) -> Callable[[DomainError], None]:
    fallback = onto(form, "playlist_id")

    def report(err: DomainError) -> None:
        if (err.field or "") in ("target_kind", "target"):
            form.target_id.errors = [*form.target_id.errors, err.message]
        elif (err.field or "").startswith("dayparts"):
            form.dayparts_errors.append(err.message)
        else:
            fallback(err)

    return report


def weekdays_text(mask: int) -> str:
    days = [d for d in range(7) if mask & (1 << d)]
    if len(days) == 7:
        return _("每天")
    if days == [0, 1, 2, 3, 4]:
        return _("周一至周五")
    if days == [5, 6]:
        return _("周六、周日")
    return "、".join(str(WEEKDAY_CHOICES[d].label) for d in days)


def dayparts_text(parts: list[list[int]]) -> str:
    if not parts:
        return _("全天")
    return "，".join(f"{dates.clock(a)}–{dates.clock(b)}" for a, b in parts)


@web.route("/admin/schedules")
@signed_in
def schedule_list():
    session, user = db_session(), actor()
    rows = schedules.list_entries(session, user, now())
    labels = {e.id: schedules.target_label(session, e.target_kind, e.target_id) for e in rows}
    return render_template(
        "admin/schedule_entries.html", rows=rows, labels=labels, today=_today(), cn_day=_cn_day,
        weekdays_text=weekdays_text, dayparts_text=dayparts_text,
    )


@web.route("/admin/schedules/new", methods=["GET", "POST"])
@signed_in
def schedule_new():
    session, user = db_session(), actor()
    targets = schedules.schedulable_targets(session, user)
    _forbidden_without_areas(targets.areas or targets.sites or targets.devices)
    playlists = schedules.list_playlists(session, user)
    form = EntryForm()
    form.dayparts_errors = []
    form.playlist_id.choices = [
        SelectChoice(str(p.id), p.name + (_("（含党内事项）") if schedules.holds_internal(p.items) else ""), optgroup=p.area.name)
        for p in playlists
    ]
    form.target_id.choices = _target_choices(targets)
    if request.method == "GET":
        form.starts_on.data = _today()
        if request.args.get("playlist_id", "").isdigit():
            form.playlist_id.data = int(request.args["playlist_id"])
    if form.validate_on_submit():
        data = _entry_input(form)
        made = None
        if data is not None:
            with refused(_entry_report(form)):
                made = schedules.create_entry(session, user, data, now(), local_zone())
        if made is not None:
            flash(_("已新建第 %(id)s 号排期：“%(playlist)s”。", id=made.id, playlist=made.playlist.name))
            return redirect(url_for("web.schedule_list"))
    # Still here after a POST: refused, each error beside its field.
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/schedule_entry_form.html", form=form, has_playlists=bool(playlists),
        min_priority=schedules.MIN_PRIORITY, max_priority=schedules.MAX_PRIORITY,
    ), status


class CancelForm(FlaskForm):
    confirm = BooleanField(_l("我已了解：取消后这条排期立即从相关屏幕上撤下"), validators=[DataRequired(_l("请先勾选确认，再取消。"))])


@web.route("/admin/schedules/<int:entry_id>/cancel", methods=["GET", "POST"])
@signed_in
def schedule_cancel(entry_id: int):
    session, user = db_session(), actor()
    entry = schedules.get_entry(session, user, entry_id)
    form = CancelForm()
    if form.validate_on_submit():
        done = None
        with refused(flashed):
            done = schedules.cancel_entry(session, user, entry_id, now())
        if done is not None:
            flash(_("已取消第 %(id)s 号排期。相关屏幕将按其余排期或默认轮播播放。", id=done.id))
        return redirect(url_for("web.schedule_list"))
    page = render_template(
        "admin/schedule_entry_cancel.html", entry=entry, form=form, cn_day=_cn_day,
        target=schedules.target_label(session, entry.target_kind, entry.target_id),
        weekdays_text=weekdays_text, dayparts_text=dayparts_text,
    )
    return page, (422 if form.errors else 200)


# =========================================================================== device groups


class GroupForm(FlaskForm):
    area_id = SelectField(_l("所属区域"), coerce=int, validators=[DataRequired(_l("请选择所属区域。"))])
    name = StringField(_l("分组名称"), validators=[DataRequired(_l("请填写分组名称。")), Length(max=60, message=_l("最多 60 个字。"))])
    device_ids = SelectMultipleField(_l("分组里的屏幕"), coerce=int, validate_choice=False)


def _sites_of(screens: list[Device]) -> list[tuple[Any, list[Device]]]:
    grouped: dict[int, tuple[Any, list[Device]]] = {}
    for d in screens:
        grouped.setdefault(d.site_id, (d.site, []))[1].append(d)
    return list(grouped.values())


def _group_page(form: GroupForm, group: DeviceGroup | None):
    session, user = db_session(), actor()
    screens = schedules.schedulable_devices(session, user)
    if group is not None:
        screens += [d for d in group.devices if d not in screens]
    chosen = set(form.device_ids.data or [])
    page = render_template("admin/schedule_group_form.html", form=form, group=group, sites=_sites_of(screens), chosen=chosen)
    return page, (422 if request.method == "POST" else 200)


@web.route("/admin/device-groups")
@signed_in
def group_list():
    return render_template("admin/schedule_groups.html", rows=schedules.list_groups(db_session(), actor()))


@web.route("/admin/device-groups/new", methods=["GET", "POST"])
@signed_in
def group_new():
    session, user = db_session(), actor()
    areas = schedules.schedulable_areas(session, user)
    _forbidden_without_areas(areas)
    form = GroupForm()
    form.area_id.choices = _depth_choices(areas)
    if form.validate_on_submit():
        made = None
        with refused(onto(form, "name")):
            made = schedules.create_group(session, user, form.area_id.data, form.name.data or "", form.device_ids.data or [], now())
        if made is not None:
            flash(_("已新建屏幕分组“%(name)s”（%(count)s 块屏幕）。", name=made.name, count=len(made.devices)))
            return redirect(url_for("web.group_list"))
    return _group_page(form, None)


@web.route("/admin/device-groups/<int:group_id>/edit", methods=["GET", "POST"])
@signed_in
def group_edit(group_id: int):
    session, user = db_session(), actor()
    group = schedules.get_group(session, user, group_id)
    form = GroupForm()
    del form.area_id
    if request.method == "GET":
        form.name.data = group.name
        form.device_ids.data = [d.id for d in group.devices]
    if form.validate_on_submit():
        saved = None
        with refused(onto(form, "name")):
            saved = schedules.update_group(session, user, group.id, form.name.data or "", form.device_ids.data or [], now())
        if saved is not None:
            flash(_("已保存屏幕分组“%(name)s”。", name=saved.name))
            return redirect(url_for("web.group_list"))
    return _group_page(form, group)


@web.route("/admin/device-groups/<int:group_id>/retire", methods=["POST"])
@signed_in
def group_retire(group_id: int):
    with refused(flashed):
        retired = schedules.retire_group(db_session(), actor(), group_id, now())
        flash(_("已停用屏幕分组“%(name)s”。", name=retired.name))
    return redirect(url_for("web.group_list"))


# =========================================================================== week view


class WeekQuery(BaseModel):
    """The week page's query string; a malformed one is a 400 page naming the parameter."""

    model_config = ConfigDict(extra="forbid")
    target: str | None = Field(default=None, pattern=r"^(site|device):[0-9]{1,18}$")
    start: dt.date | None = Field(default=None, ge=FIRST_DAY, le=LAST_DAY)
    on: dt.date | None = Field(default=None, ge=FIRST_DAY, le=LAST_DAY)
    at: str | None = Field(default=None, max_length=8)


@dataclass
class Block:
    top: float  # percent of the day
    height: float
    label: str  # playlist names, or 默认轮播
    span: str  # 18:00–22:00
    meta: str  # 优先级 20 · 第 12 号
    detail: str  # the whole explanation (tooltip)
    style: str
    default: bool


@dataclass
class DayColumn:
    day: dt.date
    label: str
    today: bool
    blocks: list[Block] = field(default_factory=list)
    now_top: float | None = None


@dataclass
class ScreenWeek:
    device: Device
    days: list[DayColumn]
    legend: list[tuple[str, str, str]]  # (style, name, explanation)
    answer: str


def _colour(entries: tuple[ScheduleEntry, ...]) -> str:
    if not entries:
        return "background: repeating-linear-gradient(135deg, #efe9e1 0 8px, #e6ded3 8px 16px);"
    colours = [PALETTE[e.playlist_id % len(PALETTE)] for e in entries]
    if len(colours) == 1:
        return f"background: {colours[0]};"
    stripes = ", ".join(f"{c} {i * 14}px {(i + 1) * 14}px" for i, c in enumerate(colours))
    return f"background: repeating-linear-gradient(135deg, {stripes});"


def _names(entries: tuple[ScheduleEntry, ...]) -> str:
    return "、".join(f"“{e.playlist.name}”" for e in entries)


def _numbers(entries: tuple[ScheduleEntry, ...]) -> str:
    return "、".join(str(e.id) for e in entries)


def _explain(stretch: schedules.Explained) -> tuple[str, str, str]:
    """(short label, short reason, one-line explanation) of what plays in a stretch."""
    if not stretch.entries:
        return _("默认轮播"), _("没有排期"), _("默认轮播：这时没有排期，播放本区域及上级审核通过的公开事项和回音壁")
    label = " / ".join(e.playlist.name for e in stretch.entries)
    meta = _("优先级 %(priority)s · 第 %(entries)s 号", priority=stretch.priority, entries=_numbers(stretch.entries))
    if len(stretch.entries) == 1:
        entry = stretch.entries[0]
        return label, meta, _("“%(playlist)s” · 第 %(entry)s 号排期 · 优先级 %(priority)s",
                              playlist=entry.playlist.name, entry=entry.id, priority=entry.priority)
    return label, meta, _("%(playlists)s 轮流播放 · 第 %(entries)s 号排期 · 优先级都是 %(priority)s",
                          playlists=_names(stretch.entries), entries=_numbers(stretch.entries), priority=stretch.priority)


def answer_line(device: Device, moment: dt.datetime, stretch: schedules.Explained | None) -> str:
    when = dates.cn_day_weekday_time(moment, local_zone())
    if stretch is None or not stretch.entries:
        return _("%(screen)s 在 %(when)s 播放默认轮播（这时没有排期）", screen=device.name, when=when)
    if len(stretch.entries) == 1:
        entry = stretch.entries[0]
        return _("%(screen)s 在 %(when)s 播放“%(playlist)s”（第 %(entry)s 号排期，优先级 %(priority)s）",
                 screen=device.name, when=when, playlist=entry.playlist.name, entry=entry.id, priority=entry.priority)
    return _("%(screen)s 在 %(when)s 轮流播放 %(playlists)s（第 %(entries)s 号排期，优先级都是 %(priority)s）",
             screen=device.name, when=when, playlists=_names(stretch.entries), entries=_numbers(stretch.entries),
             priority=stretch.priority)


def _minute(moment: dt.datetime, day: dt.date) -> int:
    local = dates.to_local(moment, local_zone())
    return 1440 if local.date() > day else local.hour * 60 + local.minute


def _screen_week(view: schedules.WeekView, first: dt.date, current: dt.datetime, asked: tuple[dt.datetime, schedules.Explained | None] | None) -> ScreenWeek:
    zone, today = local_zone(), dates.local_day(current, local_zone())
    days: list[DayColumn] = []
    legend: dict[tuple[int, ...], tuple[str, str, str]] = {}
    for offset in range(7):
        day = first + dt.timedelta(days=offset)
        lo, hi = dates.day_start(day, zone), dates.day_end(day, zone)
        column = DayColumn(day, dates.cn_day_weekday(day, zone), day == today)
        if day == today:
            column.now_top = _minute(current, day) / 14.4
        for stretch in view.stretches:
            since, until = max(stretch.start, lo), min(stretch.end, hi)
            if since >= until:
                continue
            top, bottom = _minute(since, day), _minute(until, day)
            label, meta, detail = _explain(stretch)
            style = _colour(stretch.entries)
            span = f"{dates.clock(top)}–{dates.clock(bottom)}"
            column.blocks.append(
                Block(top / 14.4, (bottom - top) / 14.4, label, span, meta, f"{span} {detail}", style, not stretch.entries)
            )
            legend.setdefault(tuple(e.id for e in stretch.entries), (style, label, detail))
        days.append(column)
    answer = answer_line(view.device, asked[0], asked[1]) if asked else ""
    ordered = sorted(legend.items(), key=lambda kv: (not kv[0], kv[0]))
    return ScreenWeek(view.device, days, [v for _k, v in ordered], answer)


@web.route("/admin/schedules/week")
@signed_in
def schedule_week() -> str:
    """What plays where: a site's or a screen's week, and what plays at one moment."""
    session, user, zone, current = db_session(), actor(), local_zone(), now()
    query = parse_query(WeekQuery, request.args)
    today = dates.local_day(current, zone)
    sites = schedules.schedulable_sites(session, user, READ_ROLES)
    screens = schedules.schedulable_devices(session, user, READ_ROLES)
    target = query.target or (f"site:{sites[0].id}" if sites else None)
    first = query.start or today
    on = query.on or (today if first <= today < first + dt.timedelta(days=7) else first)
    at_text = query.at or f"{dates.to_local(current, zone):%H:%M}"
    at_error = ""
    weeks: list[ScreenWeek] = []
    problems: list[str] = []
    if target is not None:
        kind, target_id = target.split(":")
        try:
            minute = schedules.parse_clock(at_text, "at")
        except ValidationFailed as err:
            at_error, minute = err.message, None
        with refused(lambda err: problems.append(err.message)):
            views = schedules.weeks_for(session, user, TargetKind(kind), int(target_id), dates.day_start(first, zone), zone)
            asked_at = None
            if minute is not None:
                asked_at = dt.datetime.combine(on, dt.time(minute // 60, minute % 60), dates.zone_info(zone))
            for view in views:
                asked = None
                if asked_at is not None:
                    inside = view.start <= asked_at < view.end
                    other = view if inside else schedules.week_view(session, user, view.device, asked_at, zone, days=1)
                    asked = (asked_at, other.at(asked_at))
                weeks.append(_screen_week(view, first, current, asked))
    options = [
        (_("场所（全部屏幕）"), [(f"site:{s.id}", f"{s.area.name} · {s.name}") for s in sites]),
        (_("单块屏幕"), [(f"device:{d.id}", f"{d.site.name} · {d.name}") for d in screens]),
    ]
    return render_template(
        "admin/schedule_week.html", weeks=weeks, options=options, target=target, first=first, on=on, at=at_text,
        at_error=at_error, problems=problems, hours=range(0, 25, 2), prev=first - dt.timedelta(days=7),
        next=first + dt.timedelta(days=7), today=today, week_label=_week_label(first),
    )


def _week_label(first: dt.date) -> str:
    zone = local_zone()
    return f"{dates.cn_day_weekday(first, zone)} – {dates.cn_day_weekday(first + dt.timedelta(days=6), zone)}"
