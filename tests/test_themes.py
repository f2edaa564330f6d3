"""One theme per area: contrast checked, set by a township or county, inherited below, in
every manifest and preview; the admin page saves it and previews it live."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from PIL import Image

from server.domain import manifests, themes
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.extensions import session_scope
from server.models import Area, AreaKind, AreaTheme
from tests.conftest import csrf_from

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


# --------------------------------------------------------------------------- pure rules


def test_contrast_is_the_wcag_ratio():
    assert themes.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert themes.contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    # #767676 on white is the well-known lightest grey that passes 4.5:1; #777777 fails.
    assert themes.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert themes.contrast("#777777", "#ffffff") < 4.5


@pytest.mark.parametrize("palette", sorted(themes.PALETTES))
def test_every_built_in_palette_passes_its_own_check(palette):
    assert themes.problems(themes.PALETTES[palette]["colours"]) == []


def test_a_colour_too_close_to_its_background_is_refused_naming_it():
    with pytest.raises(ValidationFailed) as err:
        themes.build(themes.ThemeInput(palette="blue", colours={"muted": "#b0b8c0"}))
    assert err.value.field == "muted"
    assert "对比度" in err.value.message and "4.5:1" in err.value.message
    # Every failing pair is listed, so the page can mark all of them at once.
    with pytest.raises(ValidationFailed) as err:
        themes.build(themes.ThemeInput(palette="red", colours={"paper": "#1c1c1c"}))
    assert {"ink", "muted", "primary_dark"} <= set(err.value.details["problems"])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (themes.ThemeInput(palette="purple"), "palette"),
        (themes.ThemeInput(colours={"ink": "black"}), "ink"),
        (themes.ThemeInput(colours={"ink": "#12345"}), "ink"),
        (themes.ThemeInput(colours={"glow": "#123456"}), "glow"),
        (themes.ThemeInput(header="清" * 31), "header"),
        (themes.ThemeInput(scale="huge"), "scale"),
        (themes.ThemeInput(emblem=b"<svg onload=alert(1)>"), "emblem"),
        (themes.ThemeInput(emblem=b"GIF89a" + b"\0" * 20), "emblem"),
    ],
)
def test_bad_theme_input_names_the_field(data, field):
    with pytest.raises(ValidationFailed) as err:
        themes.build(data)
    assert err.value.field == field


def _png(width: int = 600, height: int = 400) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), "#c00000")
    exif = Image.Exif()
    exif[0x010F] = "某品牌相机"  # Make
    exif[0x8825] = {2: (31.0, 14.0, 0.0)}  # GPS latitude: where the photo was taken
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_an_emblem_is_re_encoded_small_and_without_metadata():
    theme = themes.build(themes.ThemeInput(emblem=_png()))
    assert theme.emblem is not None and theme.emblem.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(theme.emblem)) as image:
        assert max(image.size) == themes.EMBLEM_SIDE
        assert "exif" not in image.info
    assert theme.emblem_url().startswith("data:image/png;base64,")


# --------------------------------------------------------------------------- storage and reach


def test_a_township_theme_is_inherited_by_its_villages_and_a_village_cannot_restyle(app, world):
    with app.app_context(), session_scope() as s:
        town, village = s.get_one(Area, world.town.id), s.get_one(Area, world.village_a.id)
        admin = s.merge(world.admin)
        assert themes.effective(s, village) == themes.DEFAULT
        themes.save(s, admin, town, themes.ThemeInput(palette="green", header="测试镇党务村务公开", scale="large"), NOW)
        got = themes.effective(s, village)
        assert (got.palette, got.header, got.scale_factor, got.area_id) == ("green", "测试镇党务村务公开", 1.15, town.id)
        with pytest.raises(ValidationFailed) as err:
            themes.save(s, admin, village, themes.ThemeInput(palette="blue"), NOW)
        assert err.value.field == "area"
        themes.clear(s, admin, town, NOW)
        assert themes.effective(s, village) == themes.DEFAULT


def test_only_an_admin_of_the_area_may_set_its_theme(app, world, make_world):
    with app.app_context(), session_scope() as s:
        town = s.get_one(Area, world.town.id)
        with pytest.raises(Forbidden):
            themes.save(s, s.merge(world.editor), town, themes.ThemeInput(palette="blue"), NOW)
        from server.domain import areas, users
        from server.models import Role

        other = areas.create_area(s, "别的镇", AreaKind.township)
        stranger = users.create_user(s, username="stranger", password="correct-horse", display_name="外镇管理员",
                                     grants=[(Role.admin, other)])
        with pytest.raises(NotFound):
            themes.save(s, stranger, town, themes.ThemeInput(palette="blue"), NOW)
        assert s.get(AreaTheme, town.id) is None


def test_the_theme_travels_in_the_manifest_and_a_change_reaches_the_village_screens(app, world):
    from server.models import Device

    with app.app_context(), session_scope() as s:
        settings = manifests.Settings("http://sunwall.test", b"k")
        device = s.get_one(Device, world.screen_a.id)
        before = manifests.plan_manifest(s, device, NOW, settings)
        assert before.body["theme"]["palette"] == "red"
        themes.save(s, s.merge(world.admin), s.get_one(Area, world.town.id),
                    themes.ThemeInput(palette="blue", colours={"highlight": "#ffe082"}, header="测试镇公开栏"), NOW)
    with app.app_context(), session_scope() as s:
        after = manifests.plan_manifest(s, s.get_one(Device, world.screen_a.id), NOW, settings)
    theme = after.body["theme"]
    assert after.version != before.version
    assert theme["palette"] == "blue" and theme["header"] == "测试镇公开栏" and theme["scale"] == 1.0
    assert theme["colours"]["primary"] == "#0d47a1" and theme["colours"]["highlight"] == "#ffe082"
    assert theme["emblem"] is None


# --------------------------------------------------------------------------- admin page


def test_the_theme_page_saves_refuses_and_previews(app, client, world, login):
    login("admin")
    url = f"/admin/areas/{world.town.id}/theme"
    page = client.get(url)
    assert page.status_code == 200 and "党建红" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))

    # Too little contrast: refused beside the field, nothing saved.
    bad = client.post(url, data={"csrf_token": token, "palette": "blue", "muted": "#b0b8c0", "scale": "standard"})
    assert bad.status_code == 422
    assert "说明文字与版面底色的对比度只有" in bad.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        assert s.get(AreaTheme, world.town.id) is None

    # The live preview: the board as a screen of the area would show it, or the problem.
    preview = client.post(url + "/preview", data={"csrf_token": token, "palette": "green", "header": "测试镇公开栏",
                                                  "scale": "larger", "layout": "portrait"})
    assert preview.status_code == 200
    body = preview.get_json()
    assert (body["width"], body["height"]) == (1080, 1920)
    assert "--primary: #1b5e20" in body["html"] and "--scale: 1.3" in body["html"] and "测试镇公开栏" in body["html"]
    refused = client.post(url + "/preview", data={"csrf_token": token, "palette": "blue", "ink": "#eeeeee"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["ink"]

    saved = client.post(url, data={"csrf_token": token, "palette": "green", "header": "测试镇公开栏", "scale": "large",
                                   "emblem": (io.BytesIO(_png()), "emblem.jpg")}, content_type="multipart/form-data")
    assert saved.status_code == 302
    with app.app_context(), session_scope() as s:
        row = s.get_one(AreaTheme, world.town.id)
        assert (row.palette, row.header, row.scale, json.loads(row.colours)) == ("green", "测试镇公开栏", "large", {})
        assert row.emblem is not None and row.emblem.startswith(b"\x89PNG")

    # A file that is not an image: refused on the emblem field, the theme unchanged.
    junk = client.post(url, data={"csrf_token": token, "palette": "blue", "scale": "standard",
                                  "emblem": (io.BytesIO(b"%PDF-1.4 not an image"), "emblem.png")},
                       content_type="multipart/form-data")
    assert junk.status_code == 422 and "标志文件不是能打开的图片" in junk.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        assert s.get_one(AreaTheme, world.town.id).palette == "green"

    # Reviewers' previews use it too.
    village_page = client.get(f"/admin/areas/{world.village_a.id}/theme")
    assert "样式由乡镇或县统一设置" in village_page.get_data(as_text=True)


def test_an_editor_cannot_open_the_theme_page(client, world, login):
    login("editor")
    assert client.get(f"/admin/areas/{world.town.id}/theme").status_code == 403


def test_the_theme_api_reads_sets_refuses_and_clears(app, client, world, bearer):
    import base64

    admin, editor = bearer("admin"), bearer("editor")
    url = f"/api/v1/areas/{world.town.id}/theme"
    got = client.get(f"/api/v1/areas/{world.village_a.id}/theme", headers=editor)
    assert got.status_code == 200 and got.get_json()["palette"] == "red" and got.get_json()["source_area_id"] is None

    assert client.put(url, json={"palette": "blue"}, headers=editor).status_code == 403
    low = client.put(url, json={"palette": "blue", "colours": {"ink": "#dddddd"}}, headers=admin)
    assert low.status_code == 422 and low.get_json()["details"]["field"] == "ink"
    village = client.put(f"/api/v1/areas/{world.village_a.id}/theme", json={"palette": "blue"}, headers=admin)
    assert village.status_code == 422 and village.get_json()["details"]["field"] == "area"
    junk = client.put(url, json={"palette": "blue", "emblem": "not base64!"}, headers=admin)
    assert junk.status_code == 422 and junk.get_json()["details"]["field"] == "emblem"
    extra = client.put(url, json={"palette": "blue", "font": "Comic Sans"}, headers=admin)
    assert extra.status_code == 422

    saved = client.put(url, json={"palette": "green", "header": "测试镇公开栏", "scale": "larger",
                                  "emblem": base64.b64encode(_png()).decode()}, headers=admin)
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert (body["palette"], body["scale"], body["source_area_id"]) == ("green", 1.3, world.town.id)
    assert body["emblem"].startswith("data:image/png;base64,")
    inherited = client.get(f"/api/v1/areas/{world.village_a.id}/theme", headers=editor).get_json()
    assert inherited["palette"] == "green" and inherited["source_area_id"] == world.town.id

    cleared = client.delete(url, headers=admin)
    assert cleared.status_code == 200 and cleared.get_json()["palette"] == "red"
    assert client.get("/api/v1/areas/999999/theme", headers=editor).status_code == 404
