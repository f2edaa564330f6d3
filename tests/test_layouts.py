"""signage_layouts: discovery, validation, escaping, player assets."""

from __future__ import annotations

import hashlib
import json

import pytest

import signage_layouts


def test_every_layout_is_discovered_and_renders_a_player():
    found = signage_layouts.layouts()
    assert {"landscape", "portrait", "kiosk"} <= set(found)
    for name, meta in found.items():
        page = signage_layouts.render_player(name, title="东山村</title><script>", static_base="/s/",
                                             config={"manifestUrl": "/m", "token": "</script><script>alert(1)"})
        assert f"layout-{name}" in page and f"--w: {meta['width']}px" in page
        assert "</title><script>" not in page
        assert "</script><script>alert(1)" not in page  # tojson escapes < and >
        config = page.split('id="player-config">')[1].split("</script>")[0]
        assert json.loads(config)["token"] == "</script><script>alert(1)"


def test_layout_choice_by_screen():
    assert signage_layouts.layout_for("kiosk", "landscape") == "kiosk"
    assert signage_layouts.layout_for("signage", "portrait") == "portrait"
    assert signage_layouts.layout_for("signage", "landscape") == "landscape"


def test_boards_escape_text_but_keep_sanitised_html():
    html = signage_layouts.render_board("table", {
        "title": "<b>标题</b>", "category": "财务", "scope": "public", "area": "甲村",
        "valid_from": "2026-11-01T00:00:00+00:00", "valid_to": None, "body_html": "<strong>已审核</strong>",
        "timezone": "Asia/Shanghai",
        "table": {"columns": ["<i>列</i>"], "rows": [["<img src=x onerror=alert(1)>"]]},
        "qr_url": "http://s.test/q/d1.1.ABCDEFGHJK",
    })
    assert "&lt;b&gt;标题" in html and "<strong>已审核</strong>" in html
    assert "<img" not in html and "&lt;img" in html
    assert "<svg" in html and 'class="qr"' in html
    assert "2026年11月1日起" in html  # the start, in the board's zone
    with pytest.raises(signage_layouts.LayoutError):
        signage_layouts.render_board("video", {})


def test_player_assets_are_listed_with_their_digests():
    for asset in signage_layouts.player_assets():
        data = (signage_layouts.STATIC_DIR / asset["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == asset["sha256"] and len(data) == asset["size"]


def test_no_page_loads_anything_from_outside():
    roots = [signage_layouts.ROOT, signage_layouts.ROOT.parent / "server" / "templates",
             signage_layouts.ROOT.parent / "server" / "static"]
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix in {".html", ".css", ".js"} and "vendor" not in path.parts:
                # The SVG namespace is a name, not an address anything is fetched from.
                text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")
                assert "http://" not in text and "https://" not in text and "//cdn" not in text, path


def _layout_copy(tmp_path, **changes):
    """A copy of the shipped landscape layout folder with its layout.json changed."""
    import shutil

    folder = tmp_path / "landscape"
    shutil.copytree(signage_layouts.LAYOUT_DIR / "landscape", folder)
    meta = json.loads((folder / "layout.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    (folder / "layout.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return folder


def test_every_shipped_layout_names_its_regions_and_its_page_marks_them():
    for name, meta in signage_layouts.layouts().items():
        assert signage_layouts.REQUIRED_REGIONS <= meta["regions"].keys(), name
        page = signage_layouts.render_player(name, title="", static_base="/", config={})
        for region in meta["regions"].keys() - {"qr"}:
            assert f'data-region="{region}"' in page, (name, region)
    assert "aside" in signage_layouts.layouts()["portrait"]["regions"]
    assert "controls" in signage_layouts.layouts()["kiosk"]["regions"]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"regions": None}, "missing ['regions']"),
        ({"regions": {"header": "", "main": "", "qr": ""}}, "regions lack ['ticker']"),
        ({"regions": {"header": "", "main": "", "qr": "", "ticker": "", "sidebar": ""}}, "unknown regions ['sidebar']"),
        ({"width": 1080, "height": 1920}, "orientation 'landscape' does not match 1080×1920"),
        ({"width": "1920"}, "width and height"),
        ({"touch": "yes"}, "touch must be"),
        ({"name": "other"}, "name says 'other'"),
    ],
)
def test_a_broken_layout_stops_start_up_naming_the_problem(tmp_path, changes, says):
    _layout_copy(tmp_path, **changes)
    with pytest.raises(signage_layouts.LayoutError) as err:
        signage_layouts.discover(tmp_path)
    assert says in str(err.value) and "landscape" in str(err.value)


def test_a_layout_json_that_is_not_json_is_named(tmp_path):
    folder = _layout_copy(tmp_path)
    (folder / "layout.json").write_text("{regions: header}", encoding="utf-8")
    with pytest.raises(signage_layouts.LayoutError, match="layout landscape: layout.json is not JSON"):
        signage_layouts.discover(tmp_path)
    assert signage_layouts.discover(_layout_copy(tmp_path / "good").parent)["landscape"]["width"] == 1920


def test_a_page_that_lacks_a_region_its_layout_names_is_refused(tmp_path):
    folder = _layout_copy(tmp_path)
    (folder / "player.html").write_text(
        '<main data-region="main"></main><header data-region="header"></header>', encoding="utf-8"
    )
    with pytest.raises(signage_layouts.LayoutError, match="names region 'ticker', its page disagrees"):
        signage_layouts.discover(tmp_path)
