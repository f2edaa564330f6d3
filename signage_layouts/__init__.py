"""Layouts, board templates and the player bundle, shared by the server and the agent.

A layout is a folder under `layouts/` holding `layout.json` (what it is for, its size and
its regions) and `player.html` (the full-screen page). Regions are the parts of a screen:
`header` (site name, header wording, emblem, clock), `main` (the board), `qr` (the board's
QR code), `ticker`, and optionally `aside` (a second region: the echo wall under the
board on a tall screen) and `controls` (a kiosk's buttons). Each region a layout names
is an element marked `data-region` in its page (`qr` in the board templates); layouts are
discovered and checked once, at start-up, and a broken one stops the server with the
reason. Boards are templates under `boards/`, one per board kind. All templates run in a sandboxed Jinja environment with autoescape on:
user text arrives escaped, or as HTML that the server already passed through nh3.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import qrcode
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from signage_layouts import dates

ROOT = Path(__file__).resolve().parent
STATIC_DIR = ROOT / "static"
LAYOUT_DIR = ROOT / "layouts"
BOARD_KINDS = ("notice", "table", "echo_wall", "urgent")
REQUIRED_LAYOUT_KEYS = {"name", "title", "orientation", "width", "height", "touch", "regions"}
REQUIRED_REGIONS = frozenset({"header", "main", "qr", "ticker"})
OPTIONAL_REGIONS = frozenset({"aside", "controls"})
QR_BOARDS = ("notice", "table", "echo_wall")  # the board kinds that carry a QR code
# The files a screen needs to run the player offline, relative to STATIC_DIR.
PLAYER_FILES = (
    "player.css",
    "player.js",
    "kiosk.js",
    "vendor/socket.io.min.js",
    "vendor/qrcode-generator.js",
    "fonts/NotoSansSC-Regular-GB2312.woff2",
    "fonts/NotoSansSC-Bold-GB2312.woff2",
)


class LayoutError(ValueError):
    pass


@lru_cache(maxsize=4096)
def qr_svg(url: str) -> Markup:
    """An inline SVG QR code: error correction M, a 4-module quiet zone, one path.

    The mask pattern is fixed and the path is drawn here from the module matrix: choosing
    the "best" mask and the library's SVG writer cost about 7 ms a code, and every screen
    needs its own code for every new board (the URL names the screen).
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, mask_pattern=0)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    size = len(matrix)
    return Markup(
        f'<svg class="qr" role="img" aria-label="二维码" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


@cache
def _env(layout_dir: str = str(LAYOUT_DIR)) -> SandboxedEnvironment:
    return sandbox(str(ROOT / "boards"), layout_dir, str(ROOT / "shell"))


@cache
def sandbox(*folders: str) -> SandboxedEnvironment:
    """The templates of `folders` in a sandbox with autoescape on and the date filters
    (screens, previews and printed boards all render through one of these)."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(list(folders)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Dates only through signage_layouts.dates, in the zone the board data carries.
    env.filters["cn_date"] = dates.cn_date
    env.filters["cn_period"] = dates.cn_period
    env.filters["cn_datetime"] = dates.cn_datetime
    env.filters["period_label"] = dates.period_label
    return env


@cache
def layouts() -> dict[str, dict[str, Any]]:
    """Every layout folder, discovered and checked once."""
    return discover(LAYOUT_DIR)


def _region_marked(html: str, region: str) -> bool:
    return f'data-region="{region}"' in html


def _check_layout(folder: Path) -> dict[str, Any]:
    where = f"layout {folder.name}"
    try:
        meta = json.loads((folder / "layout.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"{where}: no layout.json") from None
    except json.JSONDecodeError as err:
        raise LayoutError(f"{where}: layout.json is not JSON ({err})") from None
    if not isinstance(meta, dict):
        raise LayoutError(f"{where}: layout.json must hold an object")
    missing = REQUIRED_LAYOUT_KEYS - meta.keys()
    if missing:
        raise LayoutError(f"{where}: missing {sorted(missing)}")
    if meta["name"] != folder.name:
        raise LayoutError(f"{where}: name says {meta['name']!r}")
    width, height = meta["width"], meta["height"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and 320 <= v <= 7680 for v in (width, height)):
        raise LayoutError(f"{where}: width and height must be whole pixels, 320 to 7680")
    if meta["orientation"] not in ("landscape", "portrait") or (meta["orientation"] == "landscape") != (width > height):
        raise LayoutError(f"{where}: orientation {meta['orientation']!r} does not match {width}×{height}")
    if not isinstance(meta["touch"], bool):
        raise LayoutError(f"{where}: touch must be true or false")
    regions = meta["regions"]
    if not isinstance(regions, dict) or not all(isinstance(v, str) for v in regions.values()):
        raise LayoutError(f"{where}: regions must map each region's name to what it shows")
    if REQUIRED_REGIONS - regions.keys():
        raise LayoutError(f"{where}: regions lack {sorted(REQUIRED_REGIONS - regions.keys())}")
    unknown = regions.keys() - REQUIRED_REGIONS - OPTIONAL_REGIONS
    if unknown:
        raise LayoutError(f"{where}: unknown regions {sorted(unknown)}")
    if not (folder / "player.html").is_file():
        raise LayoutError(f"{where}: no player.html")
    return meta


def discover(layout_dir: Path) -> dict[str, dict[str, Any]]:
    """Every layout folder under `layout_dir`, checked: its layout.json, and that its page
    marks each region it names (and no other); raises LayoutError naming the problem."""
    found: dict[str, dict[str, Any]] = {}
    for kind in BOARD_KINDS:
        if not (ROOT / "boards" / f"{kind}.html").is_file():
            raise LayoutError(f"board template {kind}.html is missing")
    boards = {kind: (ROOT / "boards" / f"{kind}.html").read_text(encoding="utf-8") for kind in QR_BOARDS}
    for kind, source in boards.items():
        if not _region_marked(source, "qr"):
            raise LayoutError(f"board template {kind}.html: its QR code is not in a data-region=\"qr\" element")
    env = _env(str(layout_dir))
    for folder in sorted(p for p in layout_dir.iterdir() if p.is_dir()):
        meta = _check_layout(folder)
        page = env.get_template(f"{folder.name}/player.html").render(
            layout=meta, title="", static_base="/", config={}
        )
        for region in sorted((REQUIRED_REGIONS | OPTIONAL_REGIONS) - {"qr"}):
            if (region in meta["regions"]) != _region_marked(page, region):
                state = "names" if region in meta["regions"] else "does not name"
                raise LayoutError(f"layout {folder.name}: layout.json {state} region {region!r}, its page disagrees")
        found[folder.name] = meta
    if not found:
        raise LayoutError(f"no layouts under {layout_dir}")
    return found


def layout_for(device_kind: str, orientation: str) -> str:
    if device_kind == "kiosk":
        return "kiosk"
    return "portrait" if orientation == "portrait" else "landscape"


# A board is rendered once per content and shared by every screen that shows it. Its QR
# code names the screen, so the board carries an empty slot that the player fills from
# the manifest's `qr_url` (previews ask for the code to be drawn in on the server). The
# slot is markup that user text can never produce (it is escaped, or sanitised by nh3).
QR_SLOT = '<div class="qr-slot" aria-label="二维码"></div>'


# What a disclosure board may say besides its content; data made before these existed
# (and sample boards) leave them out.
DISCLOSURE_EXTRAS: dict[str, Any] = {"period": "", "stage": "", "case": "", "public_from": None, "correction": None}


@lru_cache(maxsize=2048)
def _board_shell(kind: str, fields_json: str) -> str:
    fields = {**DISCLOSURE_EXTRAS, **json.loads(fields_json)}
    if fields.get("body_html"):
        # Already sanitised by the server (nh3); mark it so autoescape keeps the tags.
        fields["body_html"] = Markup(fields["body_html"])
    return _env().get_template(f"{kind}.html").render(**fields, qr=Markup(QR_SLOT))


def render_board(kind: str, data: dict[str, Any]) -> str:
    """A board's HTML from its data, its dates in `data["timezone"]` (the township's zone).

    Without `data["qr_url"]` the QR code is left as a slot for the player to draw; with it
    the code is drawn in (still previews). Equal boards return the same string object."""
    if kind not in BOARD_KINDS:
        raise LayoutError(f"unknown board kind {kind!r}")
    fields = {k: v for k, v in data.items() if k != "qr_url"}
    shell = _board_shell(kind, json.dumps(fields, sort_keys=True, ensure_ascii=False))
    if data.get("qr_url"):
        return shell.replace(QR_SLOT, qr_svg(data["qr_url"]), 1)
    return shell


@cache
def templates_fingerprint() -> str:
    """A digest of every template and player file: part of each manifest's version, so an
    upgrade of the layouts reaches screens even when their content did not change."""
    digest = hashlib.sha256()
    for path in sorted(ROOT.rglob("*")):
        if path.is_file() and path.suffix in {".html", ".json", ".css", ".js", ".woff2"}:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def render_player(layout: str, **context: Any) -> str:
    """The full-screen player page; `context` gives static_base, manifest_url and socket."""
    meta = layouts()[layout]
    return _env().get_template(f"{layout}/player.html").render(layout=meta, **context)


def render_preview(
    layout: str, title: str, board_html: str, static_base: str, theme: dict[str, Any] | None = None
) -> str:
    """One board, still, inside the layout: what a reviewer checks before approving.
    `theme` is the area's theme as the manifest carries it (colours, scale, header, emblem)."""
    meta = layouts()[layout]
    return _env().get_template("preview.html").render(
        layout=meta, title=title, static_base=static_base, board_html=Markup(board_html), theme=theme or {},
        theme_style=theme_style(theme or {}),
    )


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_NAME = re.compile(r"[a-z_]{1,32}")


def theme_style(theme: dict[str, Any]) -> str:
    """A theme's colours and scale as CSS variables for a style attribute (what the player
    sets from the manifest at run time); anything malformed is left out."""
    parts = [
        f"--{name.replace('_', '-')}: {value}"
        for name, value in sorted((theme.get("colours") or {}).items())
        if _NAME.fullmatch(name) and isinstance(value, str) and _COLOUR.fullmatch(value)
    ]
    scale = theme.get("scale")
    if isinstance(scale, (int, float)) and 0.5 <= scale <= 2:
        parts.append(f"--scale: {scale:g}")
    return "; ".join(parts)


def render_setup_notice(static_base: str, site_name: str = "", known: bool = False) -> str:
    """The full-screen page of a screen whose player address does not work: "needs setting
    up again" for a known screen's revoked key (its site named), a plain "not set up" for an
    unknown key. The running player shows the same message (shell/setup_message.html)."""
    return _env().get_template("needs_setup.html").render(
        static_base=static_base, site_name=site_name, known=known
    )


@cache
def player_assets() -> tuple[dict[str, Any], ...]:
    """Player files with their sha256 and size, for screens to cache by content."""
    out = []
    for rel in PLAYER_FILES:
        data = (STATIC_DIR / rel).read_bytes()
        out.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return tuple(out)
