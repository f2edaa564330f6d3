"""Attachments of disclosures: photos, PDF documents and short videos, stored by content.

`store` judges an upload by its bytes, never by its name or the browser's word: a photo
is opened with Pillow (guarded against decompression bombs), turned upright, stripped of
every piece of metadata (GPS, camera, comments) and re-encoded, so what is stored and
served is pixels only; a PDF is refused when encrypted, corrupt, too long or carrying
scripts, actions or embedded files, and otherwise drawn page by page to PNG images for
the screens and read for its text (the pre-publish scanner reads `Attachment.text`); a
video must be an MP4 with H.264 video, short and small. Files live in the `BlobStore`
under the sha256 of the stored bytes, so the same file stored twice is one row.

The rest of the module says which files a version shows (`media`), who may fetch one
(`visible_to` for signed-in users, `published_in` for phone pages) and the version's list
(`refs`).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.util import identity_key

from server.blobs import BlobStore, is_sha256
from server.domain import audit
from server.domain.access import area_clause, has_role
from server.domain.errors import Forbidden, ValidationFailed
from server.models import (
    Area,
    Attachment,
    AttachmentKind,
    Disclosure,
    DisclosureVersion,
    Role,
    User,
)

MAX_PER_VERSION = 12
MB = 1024 * 1024
LIMITS = {AttachmentKind.image: 15 * MB, AttachmentKind.pdf: 20 * MB, AttachmentKind.video: 50 * MB}
MAX_UPLOAD = max(LIMITS.values())
MAX_SIDE = 2560  # a stored photo's longest side, in pixels
MAX_PIXELS = 60_000_000  # an upload larger than this is refused before it is decoded
JPEG_QUALITY = 85
MAX_PAGES = 20
PAGE_SIDE = 2000  # a PDF page image's longest side, in pixels
MAX_SECONDS = 120
LABELS = {AttachmentKind.image: "图片", AttachmentKind.pdf: "PDF 文档", AttachmentKind.video: "视频"}
ALLOWED = "只能上传 JPEG、PNG、WebP、GIF 图片，PDF 文档或 MP4（H.264）视频"
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf", "video/mp4": ".mp4"}

# PDF names that make a document do something when opened or clicked: scripts, launching
# programs, embedded files and media, forms that submit or import (XFA is scripted too).
PDF_KEYS = frozenset({"/JS", "/JavaScript", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/EF", "/RichMedia", "/XFA"})
PDF_ACTIONS = frozenset({
    "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute", "/GoToE", "/Rendition",
})
PDF_NAMES = frozenset({"/JavaScript", "/RichMedia", "/FileAttachment", "/EmbeddedFile", "/Launch"})
PDF_RAW = re.compile(rb"/(?:JS|JavaScript|Launch|EmbeddedFiles?|RichMedia|XFA)\b")

_pdfium_lock = threading.Lock()  # pdfium is not thread-safe
# pypdf logs every repair it makes to a sloppy file; a refusal says what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def _problem(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"“{name}”：{message}", field="attachments", file=name)


def clean_name(filename: str) -> str:
    """The uploaded name, for people: no folders, no control characters, at most 200 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return (name or "未命名文件")[-200:]


def _with_extension(name: str, mime: str) -> str:
    """The name with the extension of what the stored file is (a PDF called .jpg ends in .pdf)."""
    ext = EXTENSIONS.get(mime)
    if ext is None:
        return name
    stem, dot, old = name.rpartition(".")
    same = {".jpg": {".jpg", ".jpeg", ".jpe"}, ".mp4": {".mp4", ".m4v"}}.get(ext, {ext})
    if dot and "." + old.lower() in same:
        return name
    base = stem if dot and stem and 0 < len(old) <= 5 else name
    return (base + ext)[-200:]


# --------------------------------------------------------------------------- judging bytes


def sniff(data: bytes) -> str | None:
    """What the bytes are: "jpeg", "png", "gif", "webp", "pdf", "mp4", "svg", or None."""
    head = data[:1024]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if b"%PDF-" in head:  # the header may follow a few bytes of junk (PDF 1.7, 7.5.2)
        return "pdf"
    if head[4:8] == b"ftyp":
        return "mp4"
    lowered = head.lower()
    if b"<svg" in lowered or (lowered.lstrip().startswith(b"<?xml") and b"svg" in lowered):
        return "svg"
    return None


KINDS = {
    "jpeg": AttachmentKind.image, "png": AttachmentKind.image, "gif": AttachmentKind.image,
    "webp": AttachmentKind.image, "pdf": AttachmentKind.pdf, "mp4": AttachmentKind.video,
}


@dataclass
class Checked:
    """An upload judged and converted, nothing written yet."""

    kind: AttachmentKind
    mime: str
    data: bytes
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    seconds: float | None = None
    text: str = ""
    page_images: list[tuple[bytes, int, int]] = field(default_factory=list)  # (PNG, width, height)
    poster: tuple[bytes, int, int] | None = None


def check(filename: str, data: bytes) -> Checked:
    """Judge one upload by its bytes; ValidationFailed names the file and the problem."""
    name = clean_name(filename)
    if not data:
        raise _problem(name, "文件是空的。")
    found = sniff(data)
    if found == "svg":
        raise _problem(name, "SVG 图片可以夹带脚本，不能上传。请另存为 PNG 或 JPEG 后再上传。")
    kind = KINDS.get(found or "")
    if kind is None:
        raise _problem(name, f"文件内容不是允许的类型（{ALLOWED}）。")
    if len(data) > LIMITS[kind]:
        raise _problem(
            name, f"{LABELS[kind]}最大 {LIMITS[kind] // MB} MB，这个文件有 {len(data) / MB:.1f} MB。"
        )
    if kind is AttachmentKind.image:
        return _image(name, data)
    if kind is AttachmentKind.pdf:
        return _pdf(name, data)
    return _video(name, data)


def _image(name: str, data: bytes) -> Checked:
    from PIL import Image, ImageOps

    broken = "图片已损坏或不完整，无法打开。请重新导出后再上传。"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.format not in ("JPEG", "PNG", "GIF", "WEBP"):
                raise _problem(name, f"文件内容不是允许的类型（{ALLOWED}）。")
            if im.width * im.height > MAX_PIXELS or im.width <= 0 or im.height <= 0:
                raise _problem(name, f"图片尺寸 {im.width}×{im.height} 过大，无法处理（最多 {MAX_PIXELS // 1_000_000} 百万像素）。")
            im.seek(0)  # an animation: its first frame
            im.load()
            upright = ImageOps.exif_transpose(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _problem(name, "图片像素数过大，疑似“解压炸弹”，不能上传。") from None
    except ValidationFailed:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError):
        raise _problem(name, broken) from None
    converted = _srgb(upright)
    alpha = converted.mode in ("RGBA", "LA", "PA") or (converted.mode == "P" and "transparency" in converted.info)
    if alpha:
        converted = converted.convert("RGBA")
        alpha = converted.getchannel("A").getextrema()[0] < 255
    converted = converted.convert("RGBA" if alpha else "RGB")
    converted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Pixels only: a new image carries no EXIF, GPS, ICC, XMP or text chunks.
    clean = Image.frombytes(converted.mode, converted.size, converted.tobytes())
    out = io.BytesIO()
    if alpha:
        clean.save(out, "PNG", optimize=True)
        mime = "image/png"
    else:
        clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        mime = "image/jpeg"
    return Checked(AttachmentKind.image, mime, out.getvalue(), width=clean.width, height=clean.height)


def _srgb(im: Any) -> Any:
    """The image in sRGB when it carries another colour profile (phones shoot Display P3);
    the profile itself is dropped with the rest of the metadata."""
    profile = im.info.get("icc_profile")
    if not profile:
        return im
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "RGBA" if "A" in im.getbands() else "RGB"
        base = im if im.mode in ("RGB", "RGBA") else im.convert(mode)
        return ImageCms.profileToProfile(base, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except Exception:  # a broken or unusual profile: keep the pixels as they are
        return im


def _pdf_threat(data: bytes) -> str | None:
    """The first PDF name that would make the document act (a script, a launch, an embedded
    file), looking at every object reachable from the trailer and at the raw bytes."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    raw = PDF_RAW.search(data)
    if raw is not None:
        return raw.group().decode("ascii")
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        return "/Encrypt"
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    visited = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        visited += 1
        if visited > 2_000_000:
            return "/TooManyObjects"
        if isinstance(obj, DictionaryObject):
            for k, v in obj.items():
                if k in PDF_KEYS:
                    return str(k)
                if k == "/S" and isinstance(v, NameObject) and v in PDF_ACTIONS:
                    return str(v)
                stack.append(v)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, NameObject) and obj in PDF_NAMES:
            return str(obj)
    return None


def _pdf(name: str, data: bytes) -> Checked:
    import pypdfium2 as pdfium
    from PIL import Image

    broken = "PDF 文件已损坏或不完整，无法打开。请重新导出后再上传。"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every small repair
            threat = _pdf_threat(data)
    except Exception:
        raise _problem(name, broken) from None
    if threat == "/Encrypt":
        raise _problem(name, "PDF 已加密或设有密码，无法检查内容。请去掉密码后重新导出再上传。")
    if threat is not None:
        raise _problem(
            name, f"PDF 含有脚本、自动动作或嵌入文件（{threat}），为安全起见不能上传。请用“打印为 PDF”重新生成后再上传。"
        )
    pages: list[tuple[bytes, int, int]] = []
    texts: list[str] = []
    with _pdfium_lock:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise _problem(name, "PDF 已加密或设有密码，无法检查内容。请去掉密码后重新导出再上传。") from None
            raise _problem(name, broken) from None
        try:
            count = len(pdf)
            if count == 0:
                raise _problem(name, "PDF 没有任何页面。")
            if count > MAX_PAGES:
                raise _problem(name, f"PDF 最多 {MAX_PAGES} 页，这个文件有 {count} 页。请拆分后分别上传。")
            for index in range(count):
                page = pdf[index]
                try:
                    width, height = page.get_size()
                    if not (0 < width < 15_000 and 0 < height < 15_000):
                        raise _problem(name, f"第 {index + 1} 页的页面尺寸无效。")
                    scale = min(PAGE_SIDE / max(width, height), 4.0)
                    bitmap = page.render(scale=scale, draw_annots=True)
                    image = bitmap.to_pil().convert("RGB")
                    bitmap.close()
                    textpage = page.get_textpage()
                    texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\f", "\n"))
                    textpage.close()
                finally:
                    page.close()
                png = io.BytesIO()
                Image.frombytes("RGB", image.size, image.tobytes()).save(png, "PNG", optimize=True)
                pages.append((png.getvalue(), image.width, image.height))
        except pdfium.PdfiumError:
            raise _problem(name, broken) from None
        finally:
            pdf.close()
    return Checked(
        AttachmentKind.pdf, "application/pdf", data, width=pages[0][1], height=pages[0][2],
        pages=len(pages), text="\f".join(texts), page_images=pages,
    )


def _video(name: str, data: bytes) -> Checked:
    import av

    brand = data[8:12]
    if brand == b"qt  ":
        raise _problem(name, "这是 QuickTime（.mov）视频，只能上传 MP4（H.264）视频。请用手机或剪辑软件导出为 MP4 后再上传。")
    broken = "视频文件已损坏或不完整，无法读取。请重新导出为 MP4（H.264）后再上传。"
    try:
        with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
            if not container.streams.video:
                raise _problem(name, "文件里没有视频画面。")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec != "h264":
                raise _problem(name, f"视频编码是 {codec.upper()}，屏幕只能播放 H.264 编码的 MP4 视频。请重新导出为 H.264 后再上传。")
            seconds = None
            if container.duration is not None:
                seconds = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            if seconds is None or seconds <= 0:
                raise _problem(name, broken)
            if seconds > MAX_SECONDS:
                raise _problem(name, f"视频最长 {MAX_SECONDS} 秒，这段有 {round(seconds)} 秒。请剪短后再上传。")
            width, height = stream.codec_context.width, stream.codec_context.height
            if not (0 < width <= 4096 and 0 < height <= 4096):
                raise _problem(name, f"视频画面尺寸 {width}×{height} 无效或过大（最大 4096×4096）。")
            frame = next(container.decode(stream), None)
            if frame is None:
                raise _problem(name, broken)
            still = frame.to_image().convert("RGB")
    except ValidationFailed:
        raise
    except (av.error.FFmpegError, OSError, ValueError, StopIteration, IndexError):
        raise _problem(name, broken) from None
    still.thumbnail((MAX_SIDE, MAX_SIDE))
    poster = io.BytesIO()
    still.save(poster, "JPEG", quality=JPEG_QUALITY)
    return Checked(
        AttachmentKind.video, "video/mp4", data, width=width, height=height, seconds=round(seconds, 2),
        poster=(poster.getvalue(), still.width, still.height),
    )


# --------------------------------------------------------------------------- storing


def store(
    session: Session, user: User, filename: str, data: bytes, now: dt.datetime, *, blobs: BlobStore
) -> Attachment:
    """Check an upload and keep it: the stored file (re-encoded for photos) and what is made
    from it go to `blobs`, the row to the session (flushed). The same stored file twice is
    the same row. A refused file raises ValidationFailed naming it and leaves nothing."""
    if not has_role(user, Role.editor):
        raise Forbidden("你没有“经办人”权限，不能上传附件。", field="attachments")
    name = clean_name(filename)
    checked = check(name, data)
    name = _with_extension(name, checked.mime)
    written: list[str] = []

    def put(content: bytes) -> str:
        sha = _sha(content)
        if not blobs.has(sha):
            blobs.put(content)
            written.append(sha)
        return sha

    try:
        derived: dict[str, Any] = {}
        if checked.page_images:
            shas = [put(png) for png, _, _ in checked.page_images]
            derived["pages"] = shas
            derived["files"] = {
                sha: {"size": len(png), "width": w, "height": h}
                for sha, (png, w, h) in zip(shas, checked.page_images, strict=True)
            }
        if checked.poster is not None:
            jpeg, w, h = checked.poster
            sha = put(jpeg)
            derived["poster"] = sha
            derived["files"] = {sha: {"size": len(jpeg), "width": w, "height": h}}
        sha = put(checked.data)
        found = session.get(Attachment, sha)
        if found is not None:
            return found
        row = Attachment(
            sha256=sha, kind=checked.kind, mime=checked.mime, size=len(checked.data), filename=name,
            width=checked.width, height=checked.height, pages=checked.pages, seconds=checked.seconds,
            text=checked.text, derived=derived, created_at=now, created_by_id=user.id,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the same file, stored by someone else a moment ago
            return session.get_one(Attachment, sha)
        audit.record(
            session, user, "attachment.store", now, target=("attachment", sha[:16]),
            after={"sha256": sha, "kind": checked.kind.value, "size": len(checked.data)},
            detail={"name": name, "kind": checked.kind.value},
        )
        written.clear()
        return row
    except BaseException:
        for sha in written:  # nothing half-saved: files only this call wrote go again
            blobs.remove(sha)
        raise


def _files_of(row: Attachment) -> set[str]:
    """The blobs a row stands for: its file and what was made from it."""
    derived = row.derived or {}
    return {row.sha256, *derived.get("pages", []), *([derived["poster"]] if derived.get("poster") else [])}


def prune(session: Session, now: dt.datetime, keep_days: int = 7) -> list[str]:
    """Forget uploads no version uses that are older than `keep_days` (a draft abandoned
    after its files were stored): their rows go in this transaction; the returned blobs,
    used by no remaining row, are for the caller to remove after the commit."""
    used: set[str] = set()
    for (listed,) in session.execute(select(DisclosureVersion.attachments)):
        used.update(ref.get("sha256", "") for ref in listed or [])
    cutoff = now - dt.timedelta(days=keep_days)
    gone, kept = [], set()
    for row in session.scalars(select(Attachment)):
        if row.sha256 in used or row.created_at >= cutoff:
            kept |= _files_of(row)
        else:
            gone.append(row)
    files: set[str] = set()
    for row in gone:
        files |= _files_of(row)
        session.delete(row)
    session.flush()
    return sorted(files - kept)


def _sha(content: bytes) -> str:
    import hashlib

    return hashlib.sha256(content).hexdigest()


def refs(session: Session, user: User, shas: list[str]) -> list[dict[str, Any]]:
    """The version's attachment list for `shas` (in the order given, each once): every
    one must be a stored attachment `user` may put on a draft (`uploaded_by`), so a
    sha256 learnt elsewhere never brings someone else's file into view."""
    wanted = list(dict.fromkeys(shas))
    if len(wanted) > MAX_PER_VERSION:
        raise ValidationFailed(f"附件最多 {MAX_PER_VERSION} 个，现在有 {len(wanted)} 个。", field="attachments")
    found = {a.sha256: a for a in uploaded_by(session, user, wanted)}
    missing = [sha for sha in wanted if sha not in found]
    if missing:
        raise ValidationFailed("附件不存在或已失效，请重新上传。", field="attachments")
    return [{"sha256": sha, "name": found[sha].filename, "kind": found[sha].kind.value} for sha in wanted]


def rows(session: Session, shas: list[str]) -> list[Attachment]:
    """The stored attachments among `shas`, in that order (unknown ones left out)."""
    wanted = [s for s in dict.fromkeys(shas) if is_sha256(s)]
    if not wanted:
        return []
    # Rows already in the session (`preload`) need no query.
    found: dict[str, Attachment] = {}
    for sha in wanted:
        held = session.identity_map.get(identity_key(Attachment, sha))
        if isinstance(held, Attachment):
            found[sha] = held
    missing = [s for s in wanted if s not in found]
    if missing:
        found |= {a.sha256: a for a in session.scalars(select(Attachment).where(Attachment.sha256.in_(missing)))}
    return [found[s] for s in wanted if s in found]


def preload(session: Session, versions: Iterable[DisclosureVersion | None]) -> list[Attachment]:
    """Load the attachments of many versions in one query (a loop of boards), so that
    `rows` finds them in the session; the caller holds the returned rows while it works
    (the session keeps only weak references)."""
    shas = {r.get("sha256", "") for v in versions if v is not None for r in v.attachments or []}
    shas = {s for s in shas if is_sha256(s)}
    if not shas:
        return []
    return list(session.scalars(select(Attachment).where(Attachment.sha256.in_(shas))))


# --------------------------------------------------------------------------- showing


def _file(sha: str, mime: str, size: int, width: int | None, height: int | None) -> dict[str, Any]:
    return {"sha256": sha, "type": mime, "size": size, "width": width, "height": height}


def media_of(row: Attachment, name: str | None = None) -> dict[str, Any]:
    """One attachment as boards and pages show it: its kind, name and the files a screen
    needs (a photo; a PDF's page images; a video and its poster)."""
    derived = row.derived or {}
    extra = derived.get("files") or {}
    files: list[dict[str, Any]]
    if row.kind is AttachmentKind.pdf:
        files = [
            _file(p, "image/png", int(extra.get(p, {}).get("size", 0)), extra.get(p, {}).get("width"), extra.get(p, {}).get("height"))
            for p in derived.get("pages", [])
        ]
    else:
        files = [_file(row.sha256, row.mime, row.size, row.width, row.height)]
    poster = derived.get("poster")
    if poster:  # a video's first frame: shown before it plays, cached with it
        files.append(_file(poster, "image/jpeg", int(extra.get(poster, {}).get("size", 0)),
                           extra.get(poster, {}).get("width"), extra.get(poster, {}).get("height")))
    return {
        "kind": row.kind.value,
        "name": name or row.filename,
        "sha256": row.sha256,
        "files": files,
        "poster": poster,
        "seconds": row.seconds,
    }


def media(session: Session | None, refs_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A version's attachments (its `attachments` list) as `media_of` describes them."""
    if session is None or not refs_:
        return []
    found = {a.sha256: a for a in rows(session, [r.get("sha256", "") for r in refs_])}
    return [media_of(found[r["sha256"]], r.get("name")) for r in refs_ if r.get("sha256") in found]


def version_media(version: DisclosureVersion, disclosure: Disclosure | None = None) -> list[dict[str, Any]]:
    """The attachments of a version, loaded through the session it belongs to (a draft's
    preview, never added to one, through its disclosure's area)."""
    session = object_session(version)
    if session is None and disclosure is not None:
        session = object_session(disclosure) or object_session(disclosure.area)
    return media(session, list(version.attachments or []))


def data_urls(items: list[dict[str, Any]], blobs: BlobStore) -> dict[str, str]:
    """The stored photos and page images of these media as data URLs, for a page that
    fetches nothing (printed boards); videos are left out (paper shows their poster)."""
    import base64

    out: dict[str, str] = {}
    for item in items:
        wanted = [(f["sha256"], f["type"]) for f in item["files"] if f["type"].startswith("image/")]
        if item.get("poster"):
            wanted.append((item["poster"], "image/jpeg"))
        for sha, mime in wanted:
            if blobs.has(sha):
                out[sha] = f"data:{mime};base64," + base64.b64encode(blobs.path(sha).read_bytes()).decode("ascii")
    return out


def screen_files(items: list[dict[str, Any]]) -> tuple[tuple[str, int, str], ...]:
    """The files a screen caches for these media: (sha256, size, type), each once."""
    out: dict[str, tuple[str, int, str]] = {}
    for item in items:
        for f in item["files"]:
            out.setdefault(f["sha256"], (f["sha256"], f["size"], f["type"]))
    return tuple(out.values())


# --------------------------------------------------------------------------- fetching


@dataclass(frozen=True)
class Served:
    """A stored file as it is sent: its sha256, type, and a download name for originals."""

    sha256: str
    mime: str
    download: str | None = None


def served(row: Attachment, sha: str) -> Served | None:
    """What `sha` is, if it belongs to `row`: the file itself (a PDF original is a
    download), one of its page images, or its poster."""
    if sha == row.sha256:
        return Served(sha, row.mime, row.filename if row.kind is AttachmentKind.pdf else None)
    derived = row.derived or {}
    if sha in derived.get("pages", []):
        return Served(sha, "image/png")
    if sha == derived.get("poster"):
        return Served(sha, "image/jpeg")
    return None


def owner(session: Session, sha: str) -> Attachment | None:
    """The attachment `sha` is, or the one it was made from (a page image, a poster)."""
    if not is_sha256(sha):
        return None
    row = session.get(Attachment, sha)
    if row is not None:
        return row
    return session.scalars(
        select(Attachment).where(cast(Attachment.derived, Text).contains(sha)).limit(1)
    ).first()


def visible_to(session: Session, user: User, sha: str) -> Served | None:
    """The file for a signed-in user: one they uploaded, or one a disclosure they can see
    uses (any version of it); None otherwise (which must look like a missing file)."""
    row = owner(session, sha)
    if row is None:
        return None
    file = served(row, sha)
    if file is None:
        return None
    if row.created_by_id == user.id:
        return file
    used = session.scalar(
        select(DisclosureVersion.id)
        .join(Disclosure, Disclosure.id == DisclosureVersion.disclosure_id)
        .join(Area, Area.id == Disclosure.area_id)
        .where(area_clause(user), cast(DisclosureVersion.attachments, Text).contains(row.sha256))
        .limit(1)
    )
    return file if used is not None else None


def published_in(session: Session, version: DisclosureVersion | None, sha: str) -> Served | None:
    """The file if the published `version` shows it (the phone page's rule decides whether
    the version may be seen at all); None otherwise."""
    if version is None or not is_sha256(sha):
        return None
    listed = [r.get("sha256") for r in version.attachments or []]
    for row in rows(session, [s for s in listed if isinstance(s, str)]):
        file = served(row, sha)
        if file is not None:
            return file
    return None


def uploaded_by(session: Session, user: User, shas: list[str]) -> list[Attachment]:
    """Attachments among `shas` the user may put on a draft: their own uploads, or files a
    disclosure they can see already uses (a form sent back keeps its files)."""
    out = []
    for row in rows(session, shas):
        if row.created_by_id == user.id or visible_to(session, user, row.sha256) is not None:
            out.append(row)
    return out


__all__ = [
    "MAX_PER_VERSION", "MAX_UPLOAD", "Checked", "Served", "check", "media", "media_of", "owner", "published_in",
    "refs", "rows", "screen_files", "served", "sniff", "store", "uploaded_by", "version_media", "visible_to",
]
