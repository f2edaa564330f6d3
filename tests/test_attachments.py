"""Attachments: files judged by their bytes, stored by content, shown on boards, phones and
screens, fetched only by those allowed (docs/attachments.md).

Every file here is made in the test: photos with Pillow (with EXIF GPS), PDFs written
object by object (with and without scripts), MP4s encoded with PyAV.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import ExifTags, Image
from sqlalchemy import func, select

from server.blobs import BlobStore
from server.domain import attachments, disclosures, manifests, qrlinks
from server.domain.errors import Forbidden, ValidationFailed
from server.extensions import session_scope
from server.models import Attachment, Disclosure, User
from tests.conftest import csrf_from

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- files made here


def jpeg_with_gps(size: tuple[int, int] = (40, 20)) -> bytes:
    """A phone photo: EXIF orientation 6 (turn 90° clockwise to view), maker, GPS position."""
    im = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (39.0, 54.0, 27.0)
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def transparent_png() -> bytes:
    im = Image.new("RGBA", (30, 30), (0, 128, 0, 255))
    im.putpixel((0, 0), (0, 0, 0, 0))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def pdf(pages: list[str], catalog_extra: str = "", extra_objects: tuple[str, ...] = ()) -> bytes:
    """A PDF written by hand: one Helvetica line per page; `extra_objects` are numbered
    after the font (with 1 page: 6, 7, ...), for `catalog_extra` to point at."""
    objs: list[bytes] = []
    n = len(pages)
    font = 3 + 2 * n
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objs.append(f"<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>".encode())
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    for i, text in enumerate(pages):
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 {font} 0 R >> >>"
            f" /Contents {4 + 2 * i} 0 R >>".encode()
        )
        stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    objs.extend(o.encode() for o in extra_objects)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(pdf(["secret"])))
    writer.encrypt("", "owner-password", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bomb(side: int = 100_000) -> bytes:
    """A PNG of a few hundred bytes that claims 100,000 × 100,000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def mp4(seconds: float = 2, rate: int = 10, codec: str = "libx264", size: tuple[int, int] = (64, 48)) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * rate)):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, (i * 7 % 255, 80, 160)))
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


SHORT_MP4 = mp4()


# --------------------------------------------------------------------------- judging bytes


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
        ("hidden.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "SVG"),
        ("notes.png", "村民名单\n张三 13812345678\n".encode(), "不是允许的类型"),
        ("empty.jpg", b"", "空的"),
        ("bomb.png", png_bomb(), "解压炸弹"),
        ("broken.jpg", jpeg_with_gps((400, 300))[:600], "损坏"),
        ("script.pdf", pdf(["x"], "/OpenAction 6 0 R ", ("<< /S /JavaScript /JS (app.alert\\(1\\)) >>",)), "脚本"),
        # Names written with #-escapes are read as the names they are.
        ("hidden.pdf", pdf(["x"], "/OpenAction 6 0 R ", ("<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",)), "/JavaScript"),
        ("launch.pdf", pdf(["x"], "/OpenAction 6 0 R ", ("<< /S /Launch /F (calc.exe) >>",)), "/Launch"),
        ("locked.pdf", encrypted_pdf(), "加密"),
        ("cut.pdf", pdf(["a"])[:200], "损坏"),
        ("thick.pdf", pdf([f"page {i}" for i in range(21)]), "最多 20 页"),
        ("long.mp4", mp4(seconds=125, rate=1, size=(16, 16)), "最长 120 秒"),
        ("old.mp4", mp4(codec="mpeg4"), "H.264"),
        ("clip.mov", SHORT_MP4[:8] + b"qt  " + SHORT_MP4[12:], "QuickTime"),
        ("cut.mp4", SHORT_MP4[: len(SHORT_MP4) // 3], "损坏"),
        ("huge.mp4", SHORT_MP4 + b"\0" * (50 * 1024 * 1024), "最大 50 MB"),
        ("huge.jpg", b"\xff\xd8\xff" + b"\0" * (15 * 1024 * 1024 + 1), "最大 15 MB"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "",
)
def test_a_file_is_judged_by_its_bytes_and_refused_naming_it(name, data, says):
    with pytest.raises(ValidationFailed) as refused:
        attachments.check(name, data)
    assert refused.value.message.startswith(f"“{name}”：")
    assert says in refused.value.message
    assert refused.value.field == "attachments"


def test_a_photo_is_stored_upright_without_its_metadata(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original
    row = attachments.store(session, w.editor, "门口.jpg", original, NOW, blobs=blobs)

    stored = blobs.path(row.sha256).read_bytes()
    assert row.sha256 == sha(stored) != sha(original)
    assert (row.kind.value, row.mime, row.filename) == ("image", "image/jpeg", "门口.jpg")
    # Turned as the camera said (40×20 shot sideways is 20×40), and nothing but pixels left.
    assert (row.width, row.height) == (20, 40)
    with Image.open(io.BytesIO(stored)) as im:
        assert im.size == (20, 40) and im.format == "JPEG"
        assert dict(im.getexif()) == {}
        assert "icc_profile" not in im.info and "exif" not in im.info
    assert b"PhoneMaker" not in stored and b"Exif" not in stored


def test_a_large_photo_is_scaled_down_to_2560_pixels(session, make_world, tmp_path):
    w = make_world(session)
    big = io.BytesIO()
    Image.new("RGB", (4000, 1000), (10, 20, 30)).save(big, "JPEG")
    row = attachments.store(session, w.editor, "wide.jpg", big.getvalue(), NOW, blobs=BlobStore(tmp_path))
    assert (row.width, row.height) == (2560, 640)


def test_a_png_named_jpg_is_taken_as_the_png_it_is(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    row = attachments.store(session, w.editor, "logo.jpg", transparent_png(), NOW, blobs=blobs)
    # Transparency keeps it a PNG; its name follows what it is.
    assert (row.mime, row.filename) == ("image/png", "logo.png")
    with Image.open(blobs.path(row.sha256)) as im:
        assert im.format == "PNG" and im.getpixel((0, 0))[3] == 0


def test_a_pdf_named_jpg_is_stored_as_a_pdf_with_page_images_and_text(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    document = pdf(["Page one", "Page two"])
    row = attachments.store(session, w.editor, "scan.jpg", document, NOW, blobs=blobs)

    assert (row.kind.value, row.mime, row.filename, row.pages) == ("pdf", "application/pdf", "scan.pdf", 2)
    assert row.sha256 == sha(document) and blobs.path(row.sha256).read_bytes() == document
    assert row.text == "Page one\fPage two"
    pages = row.derived["pages"]
    assert len(pages) == 2
    for page in pages:
        with Image.open(blobs.path(page)) as im:
            assert im.format == "PNG" and max(im.size) == attachments.PAGE_SIDE
        assert row.derived["files"][page]["size"] == blobs.path(page).stat().st_size


def test_a_short_mp4_is_probed_and_gets_a_poster(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    row = attachments.store(session, w.editor, "村容村貌.mp4", SHORT_MP4, NOW, blobs=blobs)
    assert (row.kind.value, row.mime, row.width, row.height, row.seconds) == ("video", "video/mp4", 64, 48, 2.0)
    assert blobs.path(row.sha256).read_bytes() == SHORT_MP4
    with Image.open(blobs.path(row.derived["poster"])) as poster:
        assert poster.size == (64, 48)


def test_the_same_file_stored_twice_is_one_row(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    first = attachments.store(session, w.editor, "a.jpg", jpeg_with_gps(), NOW, blobs=blobs)
    again = attachments.store(session, w.editor_a, "b.jpg", jpeg_with_gps(), NOW, blobs=blobs)
    assert again is first and again.filename == "a.jpg"
    assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    assert [p.name for p in blobs.root.iterdir()] == [first.sha256]


def test_a_refused_file_leaves_no_row_and_no_file(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    for name, data in [
        ("script.pdf", pdf(["x"], "/OpenAction 6 0 R ", ("<< /S /JavaScript /JS (1) >>",))),
        ("thick.pdf", pdf([f"p{i}" for i in range(21)])),
        ("bomb.png", png_bomb()),
    ]:
        with pytest.raises(ValidationFailed):
            attachments.store(session, w.editor, name, data, NOW, blobs=blobs)
    assert session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert not blobs.root.exists() or list(blobs.root.iterdir()) == []


def test_only_editors_upload(session, make_world, tmp_path):
    w = make_world(session)
    with pytest.raises(Forbidden):
        attachments.store(session, w.supervisor, "a.jpg", jpeg_with_gps(), NOW, blobs=BlobStore(tmp_path))


# --------------------------------------------------------------------------- boards and manifests


def publish(session, w, area, title, shas, start=NOW - dt.timedelta(days=1), item=None):
    d = disclosures.create_draft(
        session, w.editor,
        disclosures.DraftInput(
            area_id=area.id, catalogue_item_id=w.item_for(area, item or w.item_public).id, title=title,
            valid_from=start, valid_to=start + dt.timedelta(days=10), body="正文", attachments=shas,
        ),
        start,
    )
    disclosures.submit(session, w.editor, d.id, start)
    disclosures.approve(session, w.reviewer, d.id, start)
    return d


def test_a_board_lists_its_files_for_the_screen_and_names_them_in_its_html(session, make_world, tmp_path):
    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    photo = attachments.store(session, w.editor, "门口.jpg", jpeg_with_gps(), NOW, blobs=blobs)
    document = attachments.store(session, w.editor, "预算.pdf", pdf(["Budget", "Totals"]), NOW, blobs=blobs)
    video = attachments.store(session, w.editor, "村容.mp4", SHORT_MP4, NOW, blobs=blobs)
    publish(session, w, w.village_a, "带附件的公开", [document.sha256, photo.sha256, video.sha256])

    settings = manifests.Settings("http://s.test", b"secret", "Asia/Shanghai")
    plan = manifests.plan_manifest(session, w.screen_a, NOW, settings)
    board = next(b for b in plan.render(NOW)["boards"] if b["title"] == "带附件的公开")
    pages = document.derived["pages"]
    # In the order shown: the PDF's pages, the photo, the video and its first frame (shown
    # until it plays; the original PDF stays home).
    poster = video.derived["poster"]
    assert [f["content"] for f in board["files"]] == [*pages, photo.sha256, video.sha256, poster]
    assert board["files"][0] == {
        "content": pages[0], "href": f"/api/v1/device/files/{pages[0]}",
        "size": blobs.path(pages[0]).stat().st_size, "type": "image/png",
    }
    assert board["files"][-3]["type"] == "image/jpeg" and board["files"][-2]["type"] == "video/mp4"
    assert board["files"][-1]["type"] == "image/jpeg"
    html = plan.pages[board["content"]]
    for f in board["files"]:
        assert f'data-file="{f["content"]}"' in html or f'data-poster="{f["content"]}"' in html
    assert document.sha256 not in html
    assert re.search(r"<video [^>]*muted loop autoplay", html)
    # The screen may fetch exactly these files.
    stamp = manifests.known_stamp(session, manifests.Screen.of(w.screen_a), NOW, settings)
    assert set(stamp.files) == {*pages, photo.sha256, video.sha256, poster}
    assert stamp.files[video.sha256] == "video/mp4"


def test_a_photo_on_an_internal_item_never_reaches_a_public_screen(session, make_world, tmp_path):
    w = make_world(session)
    photo = attachments.store(session, w.editor, "会议.jpg", jpeg_with_gps(), NOW, blobs=BlobStore(tmp_path))
    publish(session, w, w.village_a, "党员大会", [photo.sha256], item=w.item_internal)
    settings = manifests.Settings("http://s.test", b"secret", "Asia/Shanghai")
    public = manifests.known_stamp(session, manifests.Screen.of(w.screen_a), NOW, settings)
    internal = manifests.known_stamp(session, manifests.Screen.of(w.screen_a_internal), NOW, settings)
    assert photo.sha256 not in public.files and photo.sha256 in internal.files


# --------------------------------------------------------------------------- the admin form


def _form_data(page: str, world: Any, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf_from(page), "kind": "notice", "title": "村务公开：道路修缮", "body": "修路情况见附件。",
        "valid_from": "2026-11-20", "area_id": str(world.village_a.id), "catalogue_item_id": str(world.item_public.id),
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def _rows(app) -> list[Attachment]:
    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(Attachment)))


def test_files_chosen_on_the_draft_form_are_stored_with_the_draft_in_order(app, client, world, login):
    login("editor")
    page = client.get("/admin/disclosures/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page and "multiple" in page
    data = _form_data(page, world, files=[(io.BytesIO(pdf(["Plan"])), "方案.pdf"), (io.BytesIO(jpeg_with_gps()), "现场.jpg")])
    saved = client.post("/admin/disclosures/new", data=data, content_type="multipart/form-data")
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        d = s.scalars(select(Disclosure)).one()
        listed = d.latest_version.attachments
        assert [a["name"] for a in listed] == ["方案.pdf", "现场.jpg"]
        assert [a["kind"] for a in listed] == ["pdf", "image"]
        disclosure_id, first, second = d.id, listed[0]["sha256"], listed[1]["sha256"]

    # The detail page shows them (the reviewer sees what screens will show).
    detail = client.get(f"/admin/disclosures/{disclosure_id}").get_data(as_text=True)
    assert f"/admin/attachments/{second}" in detail and "下载原文件" in detail

    # Editing lists them with a remove box; one removed, a new one added after the other.
    edit = client.get(f"/admin/disclosures/{disclosure_id}/edit").get_data(as_text=True)
    assert edit.index(f'value="{first}"') < edit.index(f'value="{second}"')
    data = _form_data(
        edit, world, attachment=[first, second], remove_attachment=[first],
        files=[(io.BytesIO(transparent_png()), "标志.png")],
    )
    assert client.post(f"/admin/disclosures/{disclosure_id}/edit", data=data, content_type="multipart/form-data").status_code == 302
    with app.app_context(), session_scope() as s:
        listed = s.get_one(Disclosure, disclosure_id).latest_version.attachments
        assert [a["name"] for a in listed] == ["现场.jpg", "标志.png"]


def test_a_draft_refused_for_another_reason_keeps_its_uploaded_files(app, client, world, login):
    login("editor")
    page = client.get("/admin/disclosures/new").get_data(as_text=True)
    data = _form_data(page, world, title="", files=[(io.BytesIO(jpeg_with_gps()), "现场.jpg")])
    refused = client.post("/admin/disclosures/new", data=data, content_type="multipart/form-data")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请填写标题" in text
    [row] = _rows(app)
    assert f'name="attachment" value="{row.sha256}"' in text and "现场.jpg" in text

    # Sent again with the title and the file's hidden field: saved once, nothing duplicated.
    data = _form_data(text, world, attachment=[row.sha256])
    assert client.post("/admin/disclosures/new", data=data, content_type="multipart/form-data").status_code == 302
    assert len(_rows(app)) == 1
    with app.app_context(), session_scope() as s:
        assert [a["sha256"] for a in s.scalars(select(Disclosure)).one().latest_version.attachments] == [row.sha256]


def test_a_refused_upload_is_named_and_nothing_is_saved(app, client, world, login):
    login("editor")
    page = client.get("/admin/disclosures/new").get_data(as_text=True)
    evil = pdf(["x"], "/OpenAction 6 0 R ", ("<< /S /JavaScript /JS (app.alert\\(1\\)) >>",))
    data = _form_data(page, world, files=[(io.BytesIO(evil), "通知.pdf"), (io.BytesIO(b"<svg onload=alert(1)>"), "图.png")])
    answer = client.post("/admin/disclosures/new", data=data, content_type="multipart/form-data")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "“通知.pdf”：PDF 含有脚本" in text and "“图.png”：SVG" in text
    assert _rows(app) == []
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Disclosure)) == 0
    assert not (Path(app.config["DATA_DIR"]) / "blobs").exists() or list((Path(app.config["DATA_DIR"]) / "blobs").iterdir()) == []


# --------------------------------------------------------------------------- who may fetch


@pytest.fixture
def clock(app):
    from server.clock import FixedClock

    fixed = FixedClock(NOW)
    app.extensions["sunwall.clock"] = fixed
    return fixed


@pytest.fixture
def posted(app, world, clock):
    """Approved items in village A: a public one with a PDF, a photo and a video, an internal
    one with a photo of its own; and a photo an editor uploaded but used nowhere."""
    blobs = BlobStore.of(app.config)
    with app.app_context(), session_scope() as s:
        editor = s.scalars(select(User).where(User.username == "editor")).one()
        document = attachments.store(s, editor, "预算.pdf", pdf(["Budget"]), NOW, blobs=blobs)
        photo = attachments.store(s, editor, "现场.jpg", jpeg_with_gps(), NOW, blobs=blobs)
        video = attachments.store(s, editor, "村容.mp4", SHORT_MP4, NOW, blobs=blobs)
        secret = attachments.store(s, editor, "会议.png", transparent_png(), NOW, blobs=blobs)
        editor_a = s.scalars(select(User).where(User.username == "editor_a")).one()
        loose = attachments.store(s, editor_a, "草稿.jpg", jpeg_with_gps((10, 10)), NOW, blobs=blobs)
        w = world
        w.editor, w.reviewer = editor, s.scalars(select(User).where(User.username == "reviewer")).one()
        public = publish(s, w, w.village_a, "修路公开", [document.sha256, photo.sha256, video.sha256])
        internal = publish(s, w, w.village_a, "党员大会", [secret.sha256], item=w.item_internal)
        return {
            "public": public.id, "internal": internal.id, "pdf": document.sha256, "page": document.derived["pages"][0],
            "photo": photo.sha256, "video": video.sha256, "poster": video.derived["poster"], "secret": secret.sha256,
            "loose": loose.sha256,
        }


def test_admins_fetch_files_of_items_they_can_see_with_safe_headers(app, client, world, posted, login):
    login("reviewer")
    photo = client.get(f"/admin/attachments/{posted['photo']}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    # Signed-in answers are never kept by a shared office PC's browser (ASVS 8.2.1).
    assert photo.headers["Cache-Control"] == "no-store"
    assert sha(photo.get_data()) == posted["photo"]
    original = client.get(f"/admin/attachments/{posted['pdf']}")
    assert original.mimetype == "application/pdf"
    assert original.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"/admin/attachments/{posted['page']}").mimetype == "image/png"
    # A file used by no item the reviewer can see is missing to them.
    assert client.get(f"/admin/attachments/{posted['loose']}").status_code == 404
    assert client.get(f"/admin/attachments/{'0' * 64}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/admin/disclosures").get_data(as_text=True))})

    login("editor_a")  # village A's editor uploaded it, so sees it
    assert client.get(f"/admin/attachments/{posted['loose']}").status_code == 200


def test_an_editor_of_another_village_cannot_fetch_the_files(app, client, world, posted, login):
    with app.app_context(), session_scope() as s:
        from server.domain import users
        from server.models import Role

        users.create_user(s, username="editor_b", password="correct-horse", display_name="乙村经办人",
                          grants=[(Role.editor, s.merge(world.village_b))])
    login("editor_b")
    for key in ("photo", "pdf", "page", "video", "secret"):
        assert client.get(f"/admin/attachments/{posted[key]}").status_code == 404, key


def qr_path(app, disclosure_id: int, device_id: int) -> str:
    token = qrlinks.make_token(app.config["SECRET_KEY"].encode(), qrlinks.QrTarget("d", disclosure_id, device_id))
    return f"/q/{token}"


def test_the_phone_page_shows_the_files_while_the_item_is_posted(app, client, world, posted, clock):
    path = qr_path(app, posted["public"], world.screen_a.id)
    page = client.get(path).get_data(as_text=True)
    for key in ("photo", "page", "video", "poster", "pdf"):
        assert f"{path}/files/{posted[key]}" in page, key
    assert "下载原文件" in page
    photo = client.get(f"{path}/files/{posted['photo']}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert photo.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    original = client.get(f"{path}/files/{posted['pdf']}")
    assert original.mimetype == "application/pdf" and original.headers["Content-Disposition"].startswith("attachment;")
    video = client.get(f"{path}/files/{posted['video']}", headers={"Range": "bytes=0-99"})
    assert video.status_code == 206 and video.mimetype == "video/mp4" and len(video.get_data()) == 100
    # Not through another item's code, never an internal item's, nothing after the posting period.
    assert client.get(f"{path}/files/{posted['secret']}").status_code == 404
    assert client.get(f"{path}/files/{posted['loose']}").status_code == 404
    internal = qr_path(app, posted["internal"], world.screen_a_internal.id)
    assert client.get(f"{internal}/files/{posted['secret']}").status_code == 404
    clock.set(NOW + dt.timedelta(days=30))
    assert client.get(f"{path}/files/{posted['photo']}").status_code == 404


def _screen_key(client, bearer, device_id: int) -> dict[str, str]:
    code = client.post(f"/api/v1/devices/{device_id}/enrolment-codes", headers=bearer("admin")).get_json()["code"]
    return {"Authorization": "Bearer " + client.post("/api/v1/device/enrol", json={"code": code}).get_json()["token"]}


def test_a_screen_fetches_only_the_files_its_manifest_lists(app, client, world, posted, bearer):
    hall = _screen_key(client, bearer, world.screen_a.id)
    manifest = client.get("/api/v1/device/manifest", headers=hall).get_json()
    board = next(b for b in manifest["boards"] if b["title"] == "修路公开")
    listed = {f["content"] for f in board["files"]}
    assert listed == {posted["page"], posted["photo"], posted["video"], posted["poster"]}
    for f in board["files"]:
        got = client.get(f["href"], headers=hall)
        assert got.status_code == 200 and got.mimetype == f["type"] and len(got.get_data()) == f["size"]
        assert sha(got.get_data()) == f["content"]
        assert got.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
    # The internal item's photo, the original PDF, another screen, no key: not here.
    assert client.get(f"/api/v1/device/files/{posted['secret']}", headers=hall).status_code == 404
    assert client.get(f"/api/v1/device/files/{posted['pdf']}", headers=hall).status_code == 404
    other = _screen_key(client, bearer, world.screen_b.id)
    client.get("/api/v1/device/manifest", headers=other)
    assert client.get(f"/api/v1/device/files/{posted['photo']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/device/files/{posted['photo']}").status_code == 401
    room = _screen_key(client, bearer, world.screen_a_internal.id)
    client.get("/api/v1/device/manifest", headers=room)
    assert client.get(f"/api/v1/device/files/{posted['secret']}", headers=room).status_code == 200


# --------------------------------------------------------------------------- the agent


@pytest.fixture
def file_server() -> Iterator[Any]:
    """The kiosk tests' one fake for downloads (tests/test_kiosk.py LyingServer)."""
    from tests.test_kiosk import LyingServer

    fake = LyingServer()
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    yield fake
    fake.shutdown()
    fake.server_close()


def _publish_files(fake: Any, version: str, photo: bytes, served: bytes) -> dict[str, Any]:
    from tests.test_kiosk import small_manifest

    page = f'<section class="board"><figure class="board-file"><img data-file="{sha(photo)}" alt=""></figure></section>'.encode()
    manifest = small_manifest(version, {}, {"d1": page})
    manifest["boards"][0]["files"] = [
        {"content": sha(photo), "href": f"/api/v1/device/files/{sha(photo)}", "size": len(photo), "type": "image/jpeg"}
    ]
    fake.manifest = manifest
    fake.files = {f"boards/{sha(page)}": page, f"files/{sha(photo)}": served}
    return manifest


def test_the_agent_caches_a_boards_files_checked_and_serves_them_offline(tmp_path, file_server):
    from kiosk_client.local_server import PlayerServer
    from kiosk_client.protocol import DeviceClient
    from kiosk_client.storage import CorruptDownload, DataDir
    from kiosk_client.sync import Syncer

    data = DataDir(tmp_path / "agent")
    data.prepare()
    client = DeviceClient(file_server.url, "dk_test")
    syncer = Syncer(data, client)
    photo = jpeg_with_gps()
    _publish_files(file_server, "v1", photo, photo)
    assert syncer.sync() is True
    assert data.cache.path(sha(photo)).read_bytes() == photo

    # A file whose bytes are not what the manifest promised never enters the cache, and
    # the screen plays on with what it had.
    other = jpeg_with_gps((30, 30))
    _publish_files(file_server, "v2", other, photo)
    with pytest.raises(CorruptDownload):
        syncer.sync()
    assert syncer.current is not None and syncer.current.version == "v1" and not data.cache.has(sha(other))

    # The local player's server hands out the cached file with its type, the server gone.
    file_server.shutdown()
    server = PlayerServer(0, lambda: syncer.current, data.cache, "甲村 · 大厅屏")
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/api/v1/device/files/{sha(photo)}"
        got = requests.get(url, timeout=5)
        assert got.status_code == 200 and got.content == photo
        assert got.headers["Content-Type"] == "image/jpeg" and got.headers["X-Content-Type-Options"] == "nosniff"
        assert requests.get(f"http://127.0.0.1:{server.port}/api/v1/device/files/{sha(other)}", timeout=5).status_code == 404
        # A video seeks with byte ranges; the cache answers them.
        part = requests.get(url, headers={"Range": "bytes=2-11"}, timeout=5)
        assert part.status_code == 206 and part.content == photo[2:12]
        assert part.headers["Content-Range"] == f"bytes 2-11/{len(photo)}"
        tail = requests.get(url, headers={"Range": "bytes=-5"}, timeout=5)
        assert tail.status_code == 206 and tail.content == photo[-5:]
        beyond = requests.get(url, headers={"Range": f"bytes={len(photo)}-"}, timeout=5)
        assert beyond.status_code == 416
    finally:
        server.stop()
        client.close()


def test_a_manifest_with_a_file_of_another_kind_or_address_is_refused():
    from kiosk_client.sync import Snapshot
    from tests.test_kiosk import small_manifest

    page = b"<section></section>"
    good = {"content": sha(b"x"), "href": f"/api/v1/device/files/{sha(b'x')}", "size": 1, "type": "image/png"}
    for bad, says in [
        ({**good, "type": "text/html"}, "type"),
        ({**good, "href": "https://elsewhere.example/x"}, "href"),
        ({**good, "size": 0}, "size"),
    ]:
        manifest = small_manifest("v1", {}, {"d1": page})
        manifest["boards"][0]["files"] = [bad]
        with pytest.raises(ValueError, match=says):
            Snapshot.of(manifest)


def test_the_api_takes_one_file_and_a_draft_lists_it(app, client, world, bearer):
    editor = bearer("editor")
    made = client.post(
        "/api/v1/attachments", headers=editor, content_type="multipart/form-data",
        data={"file": (io.BytesIO(pdf(["One", "Two"])), "预算.pdf")},
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["kind"], body["pages"], len(body["files"])) == ("pdf", 2, 2)
    draft = client.post("/api/v1/disclosures", headers=editor, json={
        "area_id": world.village_a.id, "catalogue_item_id": world.item_public.id, "title": "带附件",
        "body": "见附件", "valid_from": NOW.isoformat(), "attachments": [body["sha256"]],
    })
    assert draft.status_code == 201, draft.get_json()
    assert [a["name"] for a in draft.get_json()["attachments"]] == ["预算.pdf"]

    refused = client.post(
        "/api/v1/attachments", headers=editor, content_type="multipart/form-data",
        data={"file": (io.BytesIO(b"<svg onload=alert(1)>"), "logo.png")},
    )
    assert refused.status_code == 422 and refused.get_json()["message"].startswith("“logo.png”：SVG")
    assert client.post("/api/v1/attachments", headers=bearer("supervisor"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(jpeg_with_gps()), "a.jpg")}).status_code == 403


def test_a_printed_board_draws_its_photos_and_pdf_pages_in(app, client, world, posted, login, clock):
    import pypdfium2 as pdfium

    login("reviewer")
    printed = client.get(f"/admin/disclosures/{posted['public']}/print/A4")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    document = pdfium.PdfDocument(printed.get_data())
    try:
        images = sum(
            1 for i in range(len(document)) for obj in document[i].get_objects()
            if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE
        )
        text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()
    # The photo, the PDF's one page and the video's poster; the QR code is drawn as vectors.
    assert images == 3
    assert "现场.jpg" in text and "村容.mp4" in text


def test_the_live_preview_draws_the_drafts_photos_in(app, client, world, login):
    login("editor")
    page = client.get("/admin/disclosures/new").get_data(as_text=True)
    data = _form_data(page, world, title="", files=[(io.BytesIO(jpeg_with_gps((1200, 900))), "现场.jpg")])
    client.post("/admin/disclosures/new", data=data, content_type="multipart/form-data")
    [row] = _rows(app)
    preview = client.post(
        "/admin/disclosures/preview", data=_form_data(page, world, attachment=[row.sha256], layout="landscape"),
        headers={"X-CSRFToken": csrf_from(page)},
    )
    assert preview.status_code == 200, preview.get_json()
    html = preview.get_json()["html"]
    # The preview's frame fetches nothing: the photo is drawn in, small.
    drawn = re.search(rf'data-file="{row.sha256}"[^>]* src="data:image/jpeg;base64,([^"]+)"', html)
    assert drawn is not None
    import base64

    with Image.open(io.BytesIO(base64.b64decode(drawn.group(1)))) as thumb:
        assert max(thumb.size) == 640
    # Ticked for removal, it is gone from the preview as it would be from the save.
    removed = client.post(
        "/admin/disclosures/preview",
        data=_form_data(page, world, attachment=[row.sha256], remove_attachment=[row.sha256], layout="landscape"),
        headers={"X-CSRFToken": csrf_from(page)},
    )
    assert row.sha256 not in removed.get_json()["html"]


def test_prune_forgets_old_uploads_no_version_uses_and_keeps_the_rest(session, make_world, tmp_path):
    from server.domain.disclosures import DraftInput

    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    used = attachments.store(session, w.editor, "用了.jpg", jpeg_with_gps((50, 40)), NOW, blobs=blobs)
    abandoned = attachments.store(session, w.editor, "没用.pdf", pdf(["one", "two"]), NOW, blobs=blobs)
    recent = attachments.store(session, w.editor, "刚传.jpg", jpeg_with_gps((60, 40)), NOW + dt.timedelta(days=6), blobs=blobs)
    disclosures.create_draft(session, w.editor, DraftInput(
        area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="附照片", valid_from=NOW, body="正文",
        attachments=[used.sha256]), NOW)
    abandoned_files = {abandoned.sha256, *abandoned.derived["pages"]}
    gone = attachments.prune(session, NOW + dt.timedelta(days=8), keep_days=7)
    assert set(gone) == abandoned_files
    left = set(session.scalars(select(Attachment.sha256)))
    assert left == {used.sha256, recent.sha256}


def test_a_sha256_learnt_elsewhere_does_not_put_someone_elses_file_on_a_draft(session, make_world, tmp_path):
    """The API takes attachments by sha256: only the user's own uploads, or files of items
    they can see, may go on their draft (the web form and the API alike)."""
    from server.domain import users
    from server.domain.disclosures import DraftInput
    from server.models import Role

    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    theirs = attachments.store(session, w.editor_a, "甲村内部.jpg", jpeg_with_gps(), NOW, blobs=blobs)
    outsider = users.create_user(session, username="editor_b", password="correct-horse", display_name="乙村经办人",
                                 grants=[(Role.editor, w.village_b)])
    with pytest.raises(ValidationFailed) as err:
        disclosures.create_draft(session, outsider, DraftInput(
            area_id=w.village_b.id, catalogue_item_id=w.item_public.id, title="借图", valid_from=NOW, body="正文",
            attachments=[theirs.sha256]), NOW)
    assert err.value.field == "attachments"
    # The uploader, and the township editor above the village, may use it.
    for user, area in ((w.editor_a, w.village_a), (w.editor, w.village_a)):
        made = disclosures.create_draft(session, user, DraftInput(
            area_id=area.id, catalogue_item_id=w.item_public.id, title="用图", valid_from=NOW, body="正文",
            attachments=[theirs.sha256]), NOW)
        assert [a["sha256"] for a in made.latest_version.attachments] == [theirs.sha256]


def test_an_area_loop_reads_its_boards_attachments_in_one_query(session, make_world, tmp_path):
    from sqlalchemy import event

    w = make_world(session)
    blobs = BlobStore(tmp_path / "blobs")
    for n in range(4):
        photo = attachments.store(session, w.editor, f"照片{n}.jpg", jpeg_with_gps((40 + n, 20)), NOW, blobs=blobs)
        publish(session, w, w.village_a, f"带照片的公开{n}", [photo.sha256])
    session.expire_all()  # nothing held over from publishing
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM attachments" in statement:
            seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        settings = manifests.Settings("http://s.test", b"secret", "Asia/Shanghai")
        plan = manifests.plan_manifest(session, w.screen_a, NOW, settings)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    titles = [b["title"] for b in plan.render(NOW)["boards"] if b["files"]]
    assert len(titles) == 4
    assert len(seen) == 1, seen
