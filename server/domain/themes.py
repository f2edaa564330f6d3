"""One theme per area (统一规格、统一样式、统一色彩): set by a township or county, inherited below.

A theme is a palette (one of `PALETTES`, optionally with some colours changed), the
header wording, a type scale and an optional emblem. Every pair of colours that text is
drawn in is checked here (`problems`): contrast at least 4.5:1 (WCAG 2.2, 1.4.3), or the
theme is refused, naming the colour. Villages fill in content and cannot restyle: only a
county or township holds a theme, and the screens, previews and printed boards of every
area below use the nearest one above (`effective`). The theme travels in the manifest
(`as_manifest`), where the player turns it into CSS variables.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import signage_layouts
from server.domain import access, audit, changes
from server.domain.errors import NotFound, ValidationFailed
from server.domain.text import N_
from server.models import Area, AreaKind, AreaTheme, Role, User

# What each colour paints (the player's CSS variables are these names with "-").
COLOURS: dict[str, str] = {
    "primary": N_("页眉底色"),
    "primary_dark": N_("标题与页脚底色"),
    "on_primary": N_("页眉页脚文字"),
    "highlight": N_("点缀色"),
    "paper": N_("版面底色"),
    "ink": N_("正文文字"),
    "muted": N_("说明文字"),
    "line": N_("表格线"),
    "table_head": N_("表头底色"),
}
# (text, background): every pair text is drawn in on screens, previews and print.
TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("on_primary", "primary"),
    ("on_primary", "primary_dark"),
    ("highlight", "primary_dark"),
    ("ink", "paper"),
    ("muted", "paper"),
    ("primary_dark", "paper"),
    ("ink", "table_head"),
)
MIN_CONTRAST = 4.5
HEX = re.compile(r"#[0-9a-fA-F]{6}")

PALETTES: dict[str, dict[str, Any]] = {
    "red": {
        "label": N_("党建红"),
        "colours": {
            "primary": "#b3161b", "primary_dark": "#8c1014", "on_primary": "#ffffff", "highlight": "#f6c343",
            "paper": "#fffaf2", "ink": "#1c1c1c", "muted": "#5b5550", "line": "#e4d9c8", "table_head": "#f3e6d3",
        },
    },
    "blue": {
        "label": N_("政务蓝"),
        "colours": {
            "primary": "#0d47a1", "primary_dark": "#0a3275", "on_primary": "#ffffff", "highlight": "#ffd54f",
            "paper": "#f7f9fc", "ink": "#1a1a1a", "muted": "#4a5560", "line": "#d5deea", "table_head": "#e3ebf6",
        },
    },
    "green": {
        "label": N_("生态绿"),
        "colours": {
            "primary": "#1b5e20", "primary_dark": "#124116", "on_primary": "#ffffff", "highlight": "#ffe082",
            "paper": "#f7fbf5", "ink": "#1a1a1a", "muted": "#4d5a4c", "line": "#d6e4d2", "table_head": "#e4efe0",
        },
    },
    "contrast": {
        "label": N_("高对比（黑白）"),
        "colours": {
            "primary": "#000000", "primary_dark": "#000000", "on_primary": "#ffffff", "highlight": "#ffd400",
            "paper": "#ffffff", "ink": "#000000", "muted": "#333333", "line": "#000000", "table_head": "#e6e6e6",
        },
    },
}
DEFAULT_PALETTE = "red"
# Type scale: multiplies the board text (body, tables, titles); paging fits the pages again.
SCALES: dict[str, tuple[float, str]] = {
    "standard": (1.0, N_("标准")),
    "large": (1.15, N_("大")),
    "larger": (1.3, N_("特大")),
}
HEADER_MAX = 30
EMBLEM_MAX_BYTES = 2 * 1024 * 1024  # as uploaded
EMBLEM_SIDE = 160  # px, the longest side kept
THEME_KINDS = frozenset({AreaKind.county, AreaKind.township})


@dataclass(frozen=True)
class Theme:
    """An area's theme as screens, previews and print use it."""

    palette: str = DEFAULT_PALETTE
    colours: Mapping[str, str] = field(default_factory=lambda: dict(PALETTES[DEFAULT_PALETTE]["colours"]))
    header: str = ""  # header wording; empty: the site's name
    scale: str = "standard"
    emblem: bytes | None = None  # PNG, re-encoded
    area_id: int | None = None  # the area that set it (None: the built-in default)

    @property
    def scale_factor(self) -> float:
        return SCALES[self.scale][0]

    def emblem_url(self) -> str | None:
        if self.emblem is None:
            return None
        return "data:image/png;base64," + base64.b64encode(self.emblem).decode("ascii")

    def css_variables(self) -> str:
        """`--primary: #…; …; --scale: 1.15` for a style attribute (as the player sets them)."""
        return signage_layouts.theme_style(self.as_manifest())

    def as_manifest(self) -> dict[str, Any]:
        return {
            "palette": self.palette,
            "colours": dict(sorted(self.colours.items())),
            "header": self.header,
            "scale": self.scale_factor,
            "emblem": self.emblem_url(),
        }


DEFAULT = Theme()


def _luminance(hex_colour: str) -> float:
    channels = []
    for i in (1, 3, 5):
        c = int(hex_colour[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1.0 to 21.0."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def colours_of(palette: str, changes_: Mapping[str, str] | None = None) -> dict[str, str]:
    """A palette's colours with some changed; raises on an unknown palette, colour name
    or a value that is not #rrggbb."""
    if palette not in PALETTES:
        raise ValidationFailed("没有这套配色。", field="palette")
    colours = dict(PALETTES[palette]["colours"])
    for name, value in (changes_ or {}).items():
        if name not in COLOURS:
            raise ValidationFailed(f"没有“{name}”这种颜色。", field=name)
        value = (value or "").strip()
        if not value:
            continue
        if not HEX.fullmatch(value):
            raise ValidationFailed(f"{COLOURS[name]}要写成 #RRGGBB（如 #B3161B）。", field=name)
        colours[name] = value.lower()
    return colours


def problems(colours: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field, message) for every text colour too close to its background."""
    found = []
    for text, background in TEXT_PAIRS:
        ratio = contrast(colours[text], colours[background])
        if ratio < MIN_CONTRAST:
            found.append((
                text,
                f"{COLOURS[text]}与{COLOURS[background]}的对比度只有 {ratio:.2f}:1，至少要 {MIN_CONTRAST}:1，"
                "年纪大的人看不清。",
            ))
    return found


def emblem_png(data: bytes) -> bytes:
    """An uploaded emblem re-encoded as a small PNG (metadata dropped); raises when the
    file is not an image Pillow reads."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > EMBLEM_MAX_BYTES:
        raise ValidationFailed("标志图片不能超过 2 MB。", field="emblem")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG", "GIF", "WEBP"):
                raise ValidationFailed("标志只能是 PNG、JPEG、GIF 或 WebP 图片。", field="emblem")
            if image.width * image.height > 40_000_000:
                raise ValidationFailed("标志图片太大。", field="emblem")
            image.load()
            picture = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed("标志文件不是能打开的图片。", field="emblem") from None
    picture.thumbnail((EMBLEM_SIDE, EMBLEM_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _theme(row: AreaTheme) -> Theme:
    stored = json.loads(row.colours or "{}")
    colours = dict(PALETTES.get(row.palette, PALETTES[DEFAULT_PALETTE])["colours"])
    colours.update({k: v for k, v in stored.items() if k in COLOURS})
    return Theme(
        palette=row.palette if row.palette in PALETTES else DEFAULT_PALETTE,
        colours=colours,
        header=row.header,
        scale=row.scale if row.scale in SCALES else "standard",
        emblem=row.emblem,
        area_id=row.area_id,
    )


def effective(session: Session, area: Area) -> Theme:
    """The theme of `area`: its own, else the nearest area above with one, else the default."""
    ids = area.ancestor_ids()
    rows = {r.area_id: r for r in session.scalars(select(AreaTheme).where(AreaTheme.area_id.in_(ids)))}
    for area_id in reversed(ids):
        if area_id in rows:
            return _theme(rows[area_id])
    return DEFAULT


def visible(session: Session, user: User, area_id: int) -> Area:
    """An area whose theme `user` may read: any area in their subtrees (out of sight looks missing)."""
    area = session.get(Area, area_id)
    if area is None or not access.can_act(user, area, access.READ_ROLES):
        raise NotFound("未找到该区域。", field="area_id")
    return area


def own(session: Session, area: Area) -> AreaTheme | None:
    return session.get(AreaTheme, area.id)


@dataclass(frozen=True)
class ThemeInput:
    palette: str = DEFAULT_PALETTE
    colours: Mapping[str, str] = field(default_factory=dict)  # changes to the palette
    header: str = ""
    scale: str = "standard"
    emblem: bytes | None = None  # a new upload; None keeps the current one
    drop_emblem: bool = False


def build(data: ThemeInput, current: Theme | None = None) -> Theme:
    """The theme `data` describes, checked; raises ValidationFailed naming the first field
    that is wrong. Pure: the preview and the save use it alike."""
    colours = colours_of(data.palette, data.colours)
    found = problems(colours)
    if found:
        name, message = found[0]
        raise ValidationFailed(message, field=name, problems=dict(found))
    header = " ".join((data.header or "").split())
    if len(header) > HEADER_MAX:
        raise ValidationFailed(f"页眉文字最多 {HEADER_MAX} 个字。", field="header")
    if data.scale not in SCALES:
        raise ValidationFailed("没有这种字号。", field="scale")
    emblem = None if data.drop_emblem else (current.emblem if current is not None else None)
    if data.emblem:
        emblem = emblem_png(data.emblem)
    return Theme(palette=data.palette, colours=colours, header=header, scale=data.scale, emblem=emblem)


def may_style(user: User, area: Area) -> bool:
    return area.kind in THEME_KINDS and access.can_act(user, area, Role.admin)


def save(session: Session, user: User, area: Area, data: ThemeInput, now: dt.datetime) -> Theme:
    """Set `area`'s theme (a county or township, by its admin); every screen below hears it."""
    if area.kind not in THEME_KINDS:
        raise ValidationFailed("村、社区等只填写内容，样式由乡镇或县统一设置。", field="area")
    access.require(user, area, Role.admin)
    row = own(session, area)
    theme = build(data, _theme(row) if row is not None else None)
    palette_colours = PALETTES[theme.palette]["colours"]
    changed = {k: v for k, v in theme.colours.items() if palette_colours[k] != v}
    if row is None:
        row = AreaTheme(area_id=area.id)
        session.add(row)
    row.palette, row.colours, row.header, row.scale = theme.palette, json.dumps(changed, sort_keys=True), theme.header, theme.scale
    row.emblem, row.updated_at, row.updated_by_id = theme.emblem, now, user.id
    session.flush()
    audit.record(session, user, "theme.save", now, target=("area", area.id), area=area,
                 detail={"palette": theme.palette, "colours": changed, "header": theme.header, "scale": theme.scale,
                          "emblem": theme.emblem is not None})
    changes.loop_changed(session, area, now)
    return Theme(**{**theme.__dict__, "area_id": area.id})


def clear(session: Session, user: User, area: Area, now: dt.datetime) -> None:
    """Drop `area`'s own theme: it inherits again."""
    access.require(user, area, Role.admin)
    row = own(session, area)
    if row is None:
        return
    session.delete(row)
    session.flush()
    audit.record(session, user, "theme.clear", now, target=("area", area.id), area=area)
    changes.loop_changed(session, area, now)
