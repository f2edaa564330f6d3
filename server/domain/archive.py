"""The disclosure archive (统一公开资料档案): proof of what was shown, where, when and for how long.

Every approval, withdrawal and correction appends one entry to its area's chain, in the
same transaction as the change (`record`). An entry's payload is canonical JSON of what an
inspector needs (the area and its path, the catalogue item, the posting period and phases,
the exact version with its content hash, title, body, table and attachments, who wrote and
who approved it, the reason of a withdrawal, the hash of the board as screens render it);
its `entry_hash` chains it to the entry before it. The recipe and the checker are in
`server/archive_check.py` (standard library only), which an export carries as `verify.py`.

Each entry is also noted in the audit log (`archive.record`, with its seq and hash). The
audit table refuses UPDATE and DELETE (triggers), so deleting the last entries, or editing
one and recomputing every hash after it, still shows: the audit log remembers hashes the
archive no longer has. Someone who can drop those triggers and rewrite both tables is not
stopped; an exported chain head kept outside the server is the check against that
(docs/archive.md).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

import signage_layouts
from server import archive_check
from server.archive_check import GENESIS, Problem, canonical_json, instant, payload_hash
from server.domain import audit
from server.domain.access import READ_ROLES, can_act
from server.domain.errors import Forbidden, NotFound, ValidationFailed
from server.domain.text import N_
from server.models import (
    ArchiveEntry,
    Area,
    AuditEvent,
    Disclosure,
    DisclosureStatus,
    DisclosureVersion,
    Review,
    ReviewDecision,
    Role,
    Scope,
    User,
)
from signage_layouts import dates

KINDS = ("approved", "withdrawn", "corrected")
KIND_LABELS = {"approved": N_("审核通过"), "withdrawn": N_("已撤回"), "corrected": N_("被更正")}
# Who may read and export an area's archive: its supervisors and reviewers (and admins), at it or above.
ARCHIVE_ROLES = (Role.supervisor, Role.reviewer)
# The archive's class of PostgreSQL advisory locks ("SWAR"); the second key is the area id.
LOCK_CLASS = 0x53574152
# Entries per ZIP from a web request: each approved one is a PDF (about 0.35 s and 200 KB).
# The console (`sunwall archive export`) may ask for more.
MAX_EXPORT = 200
PAYLOAD_VERSION = 1
CHECKER = Path(archive_check.__file__)


def _lock_chain(session: Session, area_id: int) -> None:
    """Serialise appends to one area's chain until the transaction ends. On PostgreSQL an
    advisory lock per area (approvals in other areas go on); SQLite serialises every
    write transaction already (the edges begin them IMMEDIATE: server.db.write_intent).
    On both, the unique (area_id, seq) and (area_id, prev_hash) turn any fork into an error."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:cls AS integer), CAST(:area AS integer))"),
            {"cls": LOCK_CLASS, "area": area_id},
        )


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "name": user.display_name}


def _moment(value: dt.datetime | None) -> str | None:
    return instant(value) if value is not None else None


def _approval(session: Session, disclosure: Disclosure, version: DisclosureVersion) -> Review | None:
    """The review that approved `version` (the latest, should there be several)."""
    return session.scalars(
        select(Review)
        .where(Review.disclosure_id == disclosure.id, Review.version_id == version.id,
               Review.decision == ReviewDecision.approved)
        .order_by(Review.decided_at.desc(), Review.id.desc())
        .limit(1)
    ).first()


def _correction_of(session: Session, disclosure: Disclosure) -> Disclosure | None:
    """The approved disclosure that corrects `disclosure` (the newest, should there be several)."""
    return session.scalars(
        select(Disclosure)
        .where(Disclosure.corrects_id == disclosure.id, Disclosure.status == DisclosureStatus.approved)
        .order_by(Disclosure.id.desc())
        .limit(1)
    ).first()


def _boards(disclosure: Disclosure, version: DisclosureVersion, zone: str) -> dict[str, Any]:
    """The boards screens fetch by hash (`manifests.screen_board`): on internal screens, and
    (unless the item is internal only) on public ones; the data of the one a printed board
    shows."""
    from server.domain import manifests  # manifests imports disclosures, which records here

    screens = ("internal",) if disclosure.scope is Scope.internal else ("internal", "public")
    made: dict[str, tuple[dict[str, Any], str]] = {}
    for screen in screens:
        data, sha, _html = manifests.screen_board(disclosure, version, screen == "internal", zone)
        made[screen] = (data, sha)
    printed = screens[-1]
    return {
        "screen": printed, "data": made[printed][0], "sha256": made[printed][1],
        "sha256_by_screen": {screen: sha for screen, (_data, sha) in made.items()},
        "templates": signage_layouts.templates_fingerprint(),
    }


def _payload(
    session: Session, kind: str, disclosure: Disclosure, version: DisclosureVersion, now: dt.datetime,
    actor: User, reason: str, correction: Disclosure | None, zone: str,
) -> dict[str, Any]:
    from server.domain import areas, disclosures  # disclosures imports this module

    area, item = disclosure.area, disclosure.catalogue_item
    review = _approval(session, disclosure, version)
    case = disclosure.case
    payload: dict[str, Any] = {
        "payload_version": PAYLOAD_VERSION,
        "kind": kind,
        "recorded_at": instant(now),
        "recorded_by": _person(actor),
        "area": {
            "id": area.id, "name": area.name, "kind": area.kind.value, "code": area.code,
            "path": [a.name for a in areas.ancestors(session, area)], "path_ids": area.ancestor_ids(),
        },
        "catalogue": {
            "category_id": item.category_id, "category": item.category.name,
            "item_id": item.id, "item": item.title, "timing": item.timing.value, "period": item.period,
        },
        "disclosure": {
            "id": disclosure.id, "status": disclosure.status.value, "kind": disclosure.kind.value,
            "scope": disclosure.scope.value, "title": disclosure.title,
            "public_from": _moment(disclosure.public_from),
            "valid_from": _moment(disclosure.valid_from), "valid_to": _moment(disclosure.valid_to),
            "period": disclosure.period,
            "case": {"id": case.id, "title": case.title} if case is not None else None,
            "stage": disclosure.stage, "stage_name": disclosures.stage_name(disclosure) or None,
            "corrects_id": disclosure.corrects_id, "correction_reason": disclosure.correction_reason,
            "author": _person(disclosure.author),
        },
        "version": {
            "id": version.id, "number": version.number, "content_hash": version.content_hash,
            "title": version.title, "body_html": version.body_html, "table": version.table,
            "attachments": list(version.attachments or []),
            "created_at": _moment(version.created_at), "created_by_id": version.created_by_id,
        },
        "review": None if review is None else {
            "reviewer": _person(review.reviewer), "decided_at": _moment(review.decided_at),
            "content_hash": review.content_hash, "comment": review.comment,
            "authors": [_person(u) for u in sorted(review.authors, key=lambda u: u.id)],
        },
        "board": _boards(disclosure, version, zone),
    }
    if kind == "withdrawn":
        payload["withdrawal"] = {
            "by": _person(actor), "at": instant(now), "reason": reason or disclosure.withdraw_reason,
        }
    if kind == "corrected":
        new = correction or _correction_of(session, disclosure)
        payload["correction"] = {
            "by": _person(actor), "at": instant(now), "disclosure_id": new.id if new is not None else None,
            "reason": reason or (new.correction_reason if new is not None else ""),
        }
    return payload


def record(
    session: Session,
    kind: str,
    disclosure: Disclosure,
    now: dt.datetime,
    actor: User,
    *,
    version: DisclosureVersion | None = None,
    reason: str = "",
    correction: Disclosure | None = None,
    timezone: str = dates.DEFAULT_ZONE,
) -> ArchiveEntry:
    """Append one entry to the archive of `disclosure`'s area, in the caller's transaction.

    `kind`: "approved" (of `version`, by default the published one), "withdrawn" (with
    `reason`) or "corrected" (on the old disclosure when its correction is approved; the
    correction is `correction`, else the approved disclosure whose corrects_id is this
    one). `timezone` is the one the boards were rendered in (the board hash depends on it).
    Notes the entry's hash in the audit log. Flushes; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown archive entry kind {kind!r}")
    shown = version or disclosure.published_version
    if shown is None:
        raise ValueError(f"disclosure {disclosure.id} has no approved version to archive")
    session.flush()
    _lock_chain(session, disclosure.area_id)
    last = session.execute(
        select(ArchiveEntry.seq, ArchiveEntry.entry_hash)
        .where(ArchiveEntry.area_id == disclosure.area_id)
        .order_by(ArchiveEntry.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last.seq + 1, last.entry_hash) if last is not None else (1, GENESIS)
    body = canonical_json(_payload(session, kind, disclosure, shown, now, actor, reason, correction, timezone))
    body_hash = payload_hash(body)
    entry = ArchiveEntry(
        area_id=disclosure.area_id, seq=seq, kind=kind, disclosure_id=disclosure.id, version_id=shown.id,
        recorded_at=now, payload=body, payload_hash=body_hash, prev_hash=prev,
        entry_hash=archive_check.entry_hash(disclosure.area_id, seq, kind, disclosure.id, instant(now), body_hash, prev),
    )
    session.add(entry)
    session.flush()
    audit.record(
        session, actor, "archive.record", now, target=("archive", disclosure.area_id), area=disclosure.area,
        detail={"area_id": disclosure.area_id, "seq": seq, "entry_hash": entry.entry_hash, "kind": kind,
                "disclosure_id": disclosure.id},
    )
    return entry


# --------------------------------------------------------------------------- checking


def row_of(entry: ArchiveEntry | Any, *, with_payload: bool = True) -> dict[str, Any]:
    """An entry as the checker reads it (server.archive_check.check_chain)."""
    row = {
        "id": entry.id, "seq": entry.seq, "kind": entry.kind, "disclosure_id": entry.disclosure_id,
        "version_id": entry.version_id, "recorded_at": instant(entry.recorded_at),
        "payload_hash": entry.payload_hash, "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash,
    }
    if with_payload:
        row["payload"] = entry.payload
    return row


def anchors(session: Session, area_id: int | None = None) -> dict[int, list[tuple[int, str]]]:
    """Per area, the (seq, entry_hash) the audit log noted for each entry recorded."""
    query = select(AuditEvent.detail).where(AuditEvent.action == "archive.record", AuditEvent.target_type == "archive")
    if area_id is not None:
        query = query.where(AuditEvent.target_id == str(area_id))
    kept: dict[int, list[tuple[int, str]]] = {}
    for detail in session.scalars(query):
        try:
            kept.setdefault(int(detail["area_id"]), []).append((int(detail["seq"]), str(detail["entry_hash"])))
        except (KeyError, TypeError, ValueError):
            continue  # not an anchor this code wrote
    return kept


def _columns() -> tuple[Any, ...]:
    e = ArchiveEntry
    return (e.id, e.seq, e.kind, e.disclosure_id, e.version_id, e.recorded_at, e.payload_hash, e.prev_hash,
            e.entry_hash, e.payload)


def _area_ids(session: Session, area_id: int | None, kept: dict[int, Any]) -> list[int]:
    if area_id is not None:
        return [area_id]
    return sorted(set(session.scalars(select(ArchiveEntry.area_id).distinct())) | set(kept))


@dataclass(frozen=True)
class Chain:
    """One area's chain as verified: how many entries, the hash of the last one."""

    area_id: int
    area_name: str
    entries: int
    head: str


def verify(session: Session, area_id: int | None = None) -> list[Problem]:
    """Every problem of the archive (or of one area's chain): an edited payload or entry,
    an entry moved to another place, a deleted one (in the middle or at the end), a broken
    link, an entry the system did not record. Empty when the archive is intact."""
    problems, _ = verify_with_summary(session, area_id)
    return problems


def verify_with_summary(session: Session, area_id: int | None = None) -> tuple[list[Problem], list[Chain]]:
    kept = anchors(session, area_id)
    problems: list[Problem] = []
    chains: list[Chain] = []
    names = dict(session.execute(select(Area.id, Area.name)).all()) if area_id is None else {}
    for aid in _area_ids(session, area_id, kept):
        rows = [row_of(r) for r in session.execute(
            select(*_columns()).where(ArchiveEntry.area_id == aid).order_by(ArchiveEntry.seq)
        )]
        problems += archive_check.check_chain(aid, rows, kept.get(aid, []))
        area = session.get(Area, aid) if aid not in names else None
        name = names.get(aid) or (area.name if area is not None else str(aid))
        chains.append(Chain(aid, name, len(rows), rows[-1]["entry_hash"] if rows else GENESIS))
    return problems, chains


# --------------------------------------------------------------------------- reading


def archive_area(session: Session, user: User, area_id: int) -> Area:
    """The area if `user` may read its archive: a supervisor, reviewer or admin of it or
    above. An area out of sight looks missing (NotFound); one in sight but not in these
    roles is Forbidden."""
    area = session.get(Area, area_id)
    if area is None or not can_act(user, area, READ_ROLES):
        raise NotFound("未找到该区域。", field="area_id")
    if not can_act(user, area, ARCHIVE_ROLES):
        raise Forbidden("只有本区域或上级的监督员、审核人和管理员可以查看公开档案。", field="area_id")
    return area


def entries(session: Session, user: User, area_id: int, start: dt.datetime, end: dt.datetime) -> list[ArchiveEntry]:
    """The entries of `area_id`'s chain recorded in [start, end), in chain order, for a
    user who may read that area's archive (`archive_area`)."""
    archive_area(session, user, area_id)
    return _entries(session, area_id, start, end)


def _entries(session: Session, area_id: int, start: dt.datetime, end: dt.datetime) -> list[ArchiveEntry]:
    if end <= start:
        raise ValidationFailed("结束日期不能早于开始日期。", field="to")
    return list(session.scalars(
        select(ArchiveEntry)
        .where(ArchiveEntry.area_id == area_id, ArchiveEntry.recorded_at >= start, ArchiveEntry.recorded_at < end)
        .order_by(ArchiveEntry.seq)
    ))


def _parse(moment: str | None) -> dt.datetime | None:
    if not moment:
        return None
    return dt.datetime.strptime(moment, archive_check.INSTANT_FORMAT).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Listed:
    """An entry as the archive page and the API list it."""

    entry: ArchiveEntry
    title: str
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    public_from: dt.datetime | None
    approver: str  # display name of the reviewer who approved the archived version
    reason: str  # of a withdrawal or correction
    corrected_by: int | None  # the correcting disclosure, for a "corrected" entry


def listed(entry: ArchiveEntry) -> Listed:
    payload = json.loads(entry.payload)
    d, review = payload.get("disclosure") or {}, payload.get("review") or {}
    extra = payload.get("withdrawal") or payload.get("correction") or {}
    return Listed(
        entry=entry, title=(payload.get("version") or {}).get("title") or d.get("title", ""),
        valid_from=_parse(d.get("valid_from")), valid_to=_parse(d.get("valid_to")),
        public_from=_parse(d.get("public_from")),
        approver=((review.get("reviewer") or {}).get("name") or ""), reason=extra.get("reason", ""),
        corrected_by=(payload.get("correction") or {}).get("disclosure_id"),
    )


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class Export:
    area_id: int
    first: dt.date
    last: dt.date
    filename: str
    data: bytes
    entries: int
    head: str  # the entry_hash of the last entry in the exported chain


README = """阳光公开屏 · 公开档案导出包
=============================

区域：{area}（编号 {area_id}，{path}）
日期：{first} 至 {last}（{zone} 时间，两端都含）
导出：{generated}，导出人 {who}
本期档案 {count} 条；链上第 1–{top} 条；末条摘要 {head}

这个包里有什么
- entries.json：本期每一条档案的完整内容（公开了什么、在哪里、公示期、版本及内容摘要、起草人和审核人、撤回或更正的原因）。
- chain.json：本区域从第 1 条到本期最后一条的整条链（每条的序号、类型、事项编号、记入时间、内容摘要、前一条摘要、本条摘要；不含本期以外的内容）。
- boards/*.pdf：每条“审核通过”的档案按当时存档的版本重新排版的公开栏（A4），文件的 sha256 列在 manifest.json 里。
- manifest.json：本包的清单。
- verify.py：校验程序，只用 Python 3 标准库，与服务器上 sunwall archive verify 用的是同一份代码。

怎样校验（不需要联网，需要 Python 3.8 或更新版本）
1. 解压本包，进入解压出的文件夹，运行：
       python3 verify.py
   或者不解压，直接运行：
       python3 verify.py {zipname}
   （Windows 上可用 py verify.py）
2. 最后一行是“校验通过”表示：每条内容与其摘要相符、链上每一环都接得上、每份 PDF 与清单相符。
   否则会逐行列出出问题的条目（第几条、什么问题），程序以状态 1 退出。
3. 把上面打印的“末条摘要”与服务器“公开档案”页面或 sunwall archive verify 显示的同一条的摘要核对：
   一致，说明导出之后没有人重算过整条链。

说明
- 档案在审核通过、撤回、更正时由系统在同一事务中记入，只增不改。
- PDF 是导出时根据存档内容重新排版的，样式用区域当前的样式，“打印于”为导出日期；作为证据的是 entries.json 里的内容及其摘要。
- 摘要算法见 verify.py 开头的说明或系统文档 docs/archive.md。
"""


def _files_of(session: Session, area: Area, listed_entries: list[ArchiveEntry], now: dt.datetime, *,
              public_url: str, secret: bytes) -> list[tuple[str, bytes, ArchiveEntry]]:
    """Each approved entry's board as a PDF, rendered from the archived data, not the current one."""
    from server.domain import printing, qrlinks, themes

    theme = themes.effective(session, area).as_manifest()
    made = []
    for entry in listed_entries:
        if entry.kind != "approved":
            continue
        payload = json.loads(entry.payload)
        data = {**payload["board"]["data"], "printed_on": now.isoformat()}
        link = qrlinks.make_url(public_url, secret, qrlinks.QrTarget("d", entry.disclosure_id, qrlinks.PAPER))
        pdf = printing.render_pdf(data, "A4", theme, link)
        made.append((f"boards/{entry.seq:05d}-d{entry.disclosure_id}-v{payload['version']['number']}.pdf", pdf, entry))
    return made


def export_zip(
    session: Session, user: User | None, area_id: int, first: dt.date, last: dt.date, now: dt.datetime, *,
    public_url: str, secret: bytes, timezone: str, limit: int = MAX_EXPORT,
) -> Export:
    """`build_export` and `note_export` in one transaction (the CLI, tests)."""
    made = build_export(session, user, area_id, first, last, now, public_url=public_url, secret=secret,
                        timezone=timezone, limit=limit)
    note_export(session, user, made, now)
    return made


def note_export(session: Session, user: User | None, made: Export, now: dt.datetime) -> None:
    """Audit an export (archive.export, with the ZIP's sha256 and the chain head), so a ZIP
    handed to an inspector can later be matched to the export that made it."""
    area = session.get_one(Area, made.area_id)
    audit.record(
        session, user, "archive.export", now, target=("archive", area.id), area=area, username="console",
        detail={"from": made.first.isoformat(), "to": made.last.isoformat(), "entries": made.entries,
                "head": made.head, "sha256": archive_check.sha256_hex(made.data)},
    )


def build_export(
    session: Session, user: User | None, area_id: int, first: dt.date, last: dt.date, now: dt.datetime, *,
    public_url: str, secret: bytes, timezone: str, limit: int = MAX_EXPORT,
) -> Export:
    """An inspector's ZIP of `area_id`'s archive for the days `first`..`last` (inclusive,
    in `timezone`): entries.json, chain.json, boards/*.pdf, manifest.json, verify.py and
    README.txt. Only reads (PDFs take a while: an edge may end its read transaction and
    `note_export` in a short write one). `user` None is the server's operator at the
    console (`sunwall archive export`): not authorised by area."""
    if user is not None:
        area = archive_area(session, user, area_id)
    else:
        found = session.get(Area, area_id)
        if found is None:
            raise NotFound("未找到该区域。", field="area_id")
        area = found
    if last < first:
        raise ValidationFailed("结束日期不能早于开始日期。", field="to")
    start, end = dates.day_start(first, timezone), dates.day_end(last, timezone)
    chosen = _entries(session, area_id, start, end)
    if len(chosen) > limit:
        raise ValidationFailed(
            f"这段时间有 {len(chosen)} 条档案，一次最多导出 {limit} 条，请缩小日期范围分次导出。", field="to"
        )
    top = session.scalar(
        select(ArchiveEntry.seq).where(ArchiveEntry.area_id == area_id, ArchiveEntry.recorded_at < end)
        .order_by(ArchiveEntry.seq.desc()).limit(1)
    ) or 0
    chain = [row_of(r, with_payload=False) for r in session.execute(
        select(*_columns()).where(ArchiveEntry.area_id == area_id, ArchiveEntry.seq <= top).order_by(ArchiveEntry.seq)
    )]
    kept = sorted(pair for pair in anchors(session, area_id).get(area_id, []) if pair[0] <= top)
    boards = _files_of(session, area, chosen, now, public_url=public_url, secret=secret)
    folder = f"sunwall-archive-{area.id}-{first:%Y%m%d}-{last:%Y%m%d}"
    manifest = {
        "format": archive_check.EXPORT_FORMAT,
        "recipe": archive_check.RECIPE,
        "area": {"id": area.id, "name": area.name},
        "from": first.isoformat(), "to": last.isoformat(), "timezone": timezone,
        "range": {"start": instant(start), "end": instant(end)},
        "generated_at": instant(now), "generated_by": _person(user),
        "files": [
            {"path": path, "sha256": archive_check.sha256_hex(pdf), "seq": e.seq, "entry_hash": e.entry_hash}
            for path, pdf, e in boards
        ],
    }
    head = chain[-1]["entry_hash"] if chain else GENESIS

    def dumped(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{folder}/README.txt", README.format(
            area=area.name, area_id=area.id, path=" / ".join(a.name for a in _ancestors(session, area)),
            first=first.isoformat(), last=last.isoformat(), zone=timezone,
            generated=dates.admin_datetime(now, timezone), who=user.display_name if user else "服务器控制台", count=len(chosen), top=top,
            head=head, zipname=f"{folder}.zip",
        ).encode("utf-8"))
        zf.writestr(f"{folder}/verify.py", CHECKER.read_bytes())
        zf.writestr(f"{folder}/manifest.json", dumped(manifest))
        zf.writestr(f"{folder}/chain.json", dumped({
            "area_id": area.id, "recipe": archive_check.RECIPE, "entries": chain,
            "anchors": [{"seq": s, "entry_hash": h} for s, h in kept],
        }))
        zf.writestr(f"{folder}/entries.json", dumped([
            {"id": e.id, "seq": e.seq, "entry_hash": e.entry_hash, "payload_hash": e.payload_hash,
             "payload": json.loads(e.payload)}
            for e in chosen
        ]))
        for path, pdf, _entry in boards:
            zf.writestr(f"{folder}/{path}", pdf)
    return Export(area_id=area.id, first=first, last=last, filename=f"{folder}.zip", data=buffer.getvalue(),
                  entries=len(chosen), head=head)


def _ancestors(session: Session, area: Area) -> list[Area]:
    from server.domain import areas

    return areas.ancestors(session, area)
