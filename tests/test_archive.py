"""The disclosure archive: a hash chain per area that names every edited, moved or deleted entry.

Entries are made through the real domain (approve, then the archive's record), tampered
with in plain SQL as someone with database access would, and checked by `archive.verify`,
the `sunwall archive` command and the standalone verify.py an inspector runs on an export.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server import archive_check
from server.db import make_engine, make_sessionmaker, write_intent
from server.domain import archive, disclosures, manifests
from server.domain.disclosures import DraftInput
from server.domain.errors import Forbidden, NotFound
from server.models import ArchiveEntry, AuditEvent, Disclosure, Role, User
from tests.conftest import NOW

SETTINGS = manifests.Settings("http://s.test", b"test-secret", "Asia/Shanghai")
PYTHON3 = shutil.which("python3")


def publish(session: Session, w, title: str, now: dt.datetime = NOW, area=None, days: int = 7) -> Disclosure:
    """Draft, submit and approve an item; the approval enters the archive."""
    d = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=(area or w.village_a).id, catalogue_item_id=w.item_public.id, title=title,
                   valid_from=now, valid_to=now + dt.timedelta(days=days), body=f"{title}的正文"),
        now,
    )
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.approve(session, w.reviewer, d.id, now)
    return d


def chain(session: Session, area_id: int) -> list[ArchiveEntry]:
    return list(session.scalars(select(ArchiveEntry).where(ArchiveEntry.area_id == area_id).order_by(ArchiveEntry.seq)))


def three(session: Session, w) -> list[ArchiveEntry]:
    for n, title in enumerate(["十月财务公开", "十一月党费收缴", "低保名单公示"]):
        publish(session, w, title, NOW + dt.timedelta(minutes=n))
    return chain(session, w.village_a.id)


def problems_of(session: Session, area_id: int | None = None) -> list[tuple[int | None, str]]:
    return [(p.seq, p.what) for p in archive.verify(session, area_id)]


# --------------------------------------------------------------------------- appending


def test_approvals_append_a_linked_chain_per_area_that_verifies(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    publish(session, w, "乙村财务公开", area=w.village_b)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == "0" * 64
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert [e.seq for e in chain(session, w.village_b.id)] == [1]
    assert archive.verify(session) == []
    # Each entry is anchored in the audit log with its hash.
    noted = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "archive.record")).all()
    assert {(d["area_id"], d["seq"], d["entry_hash"]) for d in noted} >= {
        (w.village_a.id, e.seq, e.entry_hash) for e in entries
    }


def test_the_payload_says_what_was_shown_where_when_and_by_whom(session, make_world):
    w = make_world(session)
    d = publish(session, w, "十月财务公开")
    entry = chain(session, w.village_a.id)[0]
    payload = json.loads(entry.payload)
    assert entry.payload == archive_check.canonical_json(payload)  # canonical, as stored
    assert payload["kind"] == "approved" and payload["recorded_at"] == "2026-11-20T02:00:00.000000Z"
    assert payload["area"]["path"] == ["测试镇", "甲村"] and payload["area"]["id"] == w.village_a.id
    assert payload["catalogue"]["item"] == "村级财务收支明细" and payload["catalogue"]["category"] == "财务与党费"
    assert payload["disclosure"]["valid_from"] == "2026-11-20T02:00:00.000000Z"
    assert payload["disclosure"]["valid_to"] == "2026-11-27T02:00:00.000000Z"
    version = d.published_version
    assert payload["version"]["content_hash"] == version.content_hash
    assert payload["version"]["title"] == "十月财务公开" and "十月财务公开的正文" in payload["version"]["body_html"]
    assert payload["review"]["reviewer"]["username"] == "reviewer"
    assert [a["username"] for a in payload["review"]["authors"]] == ["editor"]
    # The board's hash is the one screens fetch the board by.
    manifest = manifests.plan_manifest(session, w.screen_a, NOW, SETTINGS).render(NOW)
    board = next(b for b in manifest["boards"] if b["id"] == f"d{d.id}")
    assert payload["board"]["sha256"] == board["content"] and payload["board"]["screen"] == "public"
    inside = manifests.plan_manifest(session, w.screen_a_internal, NOW, SETTINGS).render(NOW)
    board = next(b for b in inside["boards"] if b["id"] == f"d{d.id}")
    assert payload["board"]["sha256_by_screen"] == {"internal": board["content"], "public": payload["board"]["sha256"]}


def test_withdrawals_and_corrections_are_entries_with_their_reason(session, make_world):
    w = make_world(session)
    first = publish(session, w, "十月财务公开")
    later = NOW + dt.timedelta(hours=2)
    disclosures.withdraw(session, w.reviewer, first.id, "金额填错", later)
    withdrawn = chain(session, w.village_a.id)[-1]
    assert json.loads(withdrawn.payload)["withdrawal"] == {
        "by": {"id": w.reviewer.id, "username": "reviewer", "name": "reviewer"},
        "at": "2026-11-20T04:00:00.000000Z", "reason": "金额填错",
    }

    old = publish(session, w, "十一月党费收缴", later)
    new = disclosures.open_correction(session, w.editor, old.id, "更正金额", later)
    disclosures.submit(session, w.editor, new.id, later)
    disclosures.approve(session, w.reviewer, new.id, later)
    entries = chain(session, w.village_a.id)
    assert [(e.kind, e.disclosure_id) for e in entries] == [
        ("approved", first.id), ("withdrawn", first.id), ("approved", old.id), ("approved", new.id),
        ("corrected", old.id),
    ]
    assert json.loads(entries[3].payload)["disclosure"]["corrects_id"] == old.id
    corrected = json.loads(entries[4].payload)
    assert (corrected["correction"]["disclosure_id"], corrected["correction"]["reason"]) == (new.id, "更正金额")
    assert corrected["version"]["id"] == old.published_version_id  # what was shown until then
    assert archive.verify(session) == []


# --------------------------------------------------------------------------- tampering


def lift_guard(conn) -> None:
    """What someone with full rights on the database does first: drop the triggers that
    keep the archive append-only (migration 0008). Verify must catch what follows."""
    dialect = conn.get_bind().dialect if isinstance(conn, Session) else conn.dialect
    if dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS archive_entries_append_only ON archive_entries"))
    else:
        for verb in ("update", "delete"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS archive_entries_no_{verb}"))


def test_the_database_refuses_to_change_or_delete_an_entry(session, make_world):
    from sqlalchemy.exc import DBAPIError

    w = make_world(session)
    entries = three(session, w)
    for sql in ("UPDATE archive_entries SET payload = 'x' WHERE id = :id", "DELETE FROM archive_entries WHERE id = :id"):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(sql), {"id": entries[0].id})


def test_an_edited_payload_is_named(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    forged = entries[1].payload.replace("十一月党费收缴", "十一月党费收缴（已改）")
    lift_guard(session)
    session.execute(text("UPDATE archive_entries SET payload = :p WHERE id = :id"), {"p": forged, "id": entries[1].id})
    found = archive.verify(session, w.village_a.id)
    assert [(p.seq, p.entry_id, p.what) for p in found] == [(2, entries[1].id, "payload_edited")]
    assert f"区域 {w.village_a.id} 第 2 条（记录号 {entries[1].id}）：内容被改过" in found[0].line()


def test_an_edited_recorded_at_is_named(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    lift_guard(session)
    session.execute(
        text("UPDATE archive_entries SET recorded_at = :t WHERE id = :id"),
        {"t": NOW - dt.timedelta(days=30), "id": entries[2].id},
    )
    found = archive.verify(session, w.village_a.id)
    assert [(p.seq, p.what) for p in found] == [(3, "fields_edited")]
    assert "recorded_at" in found[0].detail


@pytest.mark.parametrize("column", ["prev_hash", "payload_hash", "kind", "disclosure_id"])
def test_an_edited_entry_field_is_named(session, make_world, column):
    w = make_world(session)
    entries = three(session, w)
    value = {"prev_hash": "f" * 64, "payload_hash": "e" * 64, "kind": "withdrawn", "disclosure_id": entries[0].disclosure_id}
    lift_guard(session)
    session.execute(text(f"UPDATE archive_entries SET {column} = :v WHERE id = :id"), {"v": value[column], "id": entries[1].id})
    found = archive.verify(session, w.village_a.id)
    assert [(p.seq, p.entry_id, p.what) for p in found] == [(2, entries[1].id, "fields_edited")]
    assert found[0].detail.startswith(column)


def test_swapped_entries_are_named_as_reordered(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    lift_guard(session)
    swap = "UPDATE archive_entries SET seq = :seq WHERE id = :id"
    session.execute(text(swap), {"seq": -1, "id": entries[0].id})
    session.execute(text(swap), {"seq": 1, "id": entries[1].id})
    session.execute(text(swap), {"seq": 2, "id": entries[0].id})
    found = archive.verify(session, w.village_a.id)
    assert [(p.seq, p.entry_id, p.what) for p in found] == [
        (1, entries[1].id, "reordered"), (2, entries[0].id, "reordered"),
    ]
    assert "原是第 2 条" in found[0].detail


def test_a_deleted_middle_entry_is_named(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    lift_guard(session)
    session.execute(text("DELETE FROM archive_entries WHERE id = :id"), {"id": entries[1].id})
    assert problems_of(session, w.village_a.id) == [(2, "deleted")]


def test_a_deleted_last_entry_is_detected(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    lift_guard(session)
    session.execute(text("DELETE FROM archive_entries WHERE id = :id"), {"id": entries[2].id})
    session.expunge(entries[2])  # gone behind the ORM's back
    found = archive.verify(session)
    assert [(p.area_id, p.seq, p.what) for p in found] == [(w.village_a.id, 3, "deleted")]
    # The next approval chains onto what is left: still detected, never silently healed.
    publish(session, w, "新事项", NOW + dt.timedelta(hours=1))
    assert problems_of(session, w.village_a.id) == [(3, "replaced")]


def test_a_chain_recomputed_after_an_edit_is_caught_by_the_audit_anchors(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    prev = entries[0].entry_hash
    for e in entries[1:]:  # rewrite entry 2's payload and every hash after it, consistently
        body = e.payload.replace("正文", "改过的正文")
        digest = archive_check.payload_hash(body)
        new_hash = archive_check.entry_hash(
            e.area_id, e.seq, e.kind, e.disclosure_id, archive_check.instant(e.recorded_at), digest, prev
        )
        lift_guard(session)
        session.execute(
            text("UPDATE archive_entries SET payload = :p, payload_hash = :ph, prev_hash = :prev, entry_hash = :h "
                 "WHERE id = :id"),
            {"p": body, "ph": digest, "prev": prev, "h": new_hash, "id": e.id},
        )
        prev = new_hash
    assert problems_of(session, w.village_a.id) == [(2, "replaced"), (3, "replaced")]


def test_an_entry_slipped_in_without_the_system_is_named(session, make_world):
    w = make_world(session)
    entries = three(session, w)
    last = entries[-1]
    body = last.payload
    digest = archive_check.payload_hash(body)
    forged = archive_check.entry_hash(
        last.area_id, 4, "approved", last.disclosure_id, archive_check.instant(last.recorded_at), digest,
        last.entry_hash,
    )
    session.add(ArchiveEntry(  # a copy of the last entry, hashed and linked correctly
        area_id=last.area_id, seq=4, kind="approved", disclosure_id=last.disclosure_id, version_id=last.version_id,
        recorded_at=last.recorded_at, payload=body, payload_hash=digest, prev_hash=last.entry_hash, entry_hash=forged,
    ))
    session.flush()
    assert problems_of(session, w.village_a.id) == [(4, "unanchored")]


# --------------------------------------------------------------------------- who may read


def test_only_supervisors_reviewers_and_admins_of_the_area_or_above_read_its_archive(session, make_world):
    from server.domain import users

    w = make_world(session)
    three(session, w)
    start, end = NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1)
    for reader in (w.supervisor, w.reviewer, w.admin):
        assert [e.seq for e in archive.entries(session, reader, w.village_a.id, start, end)] == [1, 2, 3]
    editor_b = users.create_user(session, username="editor_b", password="correct-horse", display_name="乙村经办人",
                                 grants=[(Role.editor, w.village_b)])
    supervisor_b = users.create_user(session, username="supervisor_b", password="correct-horse",
                                     display_name="乙村监督员", grants=[(Role.supervisor, w.village_b)])
    for stranger in (editor_b, supervisor_b):  # another village: looks missing
        with pytest.raises(NotFound):
            archive.entries(session, stranger, w.village_a.id, start, end)
    with pytest.raises(Forbidden):  # its own village, but an editor
        archive.entries(session, w.editor_a, w.village_a.id, start, end)
    assert archive.entries(session, w.supervisor, w.village_a.id, start, NOW) == []


# --------------------------------------------------------------------------- export


def export(session, user, area_id, tmp_path: Path, first=dt.date(2026, 11, 1), last=dt.date(2026, 11, 30)) -> Path:
    made = archive.export_zip(session, user, area_id, first, last, NOW, public_url="http://s.test",
                              secret=b"test-secret", timezone="Asia/Shanghai")
    path = tmp_path / made.filename
    path.write_bytes(made.data)
    return path


def run_verify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PYTHON3, "python3 on PATH"
    return subprocess.run([PYTHON3, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def rewritten(zip_path: Path, name: str, change) -> Path:
    """A copy of the ZIP with the file ending in `name` changed by `change(bytes) -> bytes`."""
    out = zip_path.with_name("edited-" + zip_path.name)
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename.endswith(name) else data)
    return out


@pytest.mark.parametrize("session", ["sqlite"], indirect=True)
def test_an_export_verifies_offline_and_names_an_entry_edited_inside_it(session, make_world, tmp_path):
    w = make_world(session)
    three(session, w)
    older = publish(session, w, "九月财务公开", NOW - dt.timedelta(days=60))  # out of range: skeleton only
    assert older.id
    disclosures.withdraw(session, w.reviewer, chain(session, w.village_a.id)[0].disclosure_id, "重复发布",
                         NOW + dt.timedelta(hours=1))
    zip_path = export(session, w.supervisor, w.village_a.id, tmp_path)

    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        folder = names[0].split("/")[0]
        entries = json.loads(zf.read(f"{folder}/entries.json"))
        skeleton = json.loads(zf.read(f"{folder}/chain.json"))
        assert zf.read(f"{folder}/verify.py") == Path(archive_check.__file__).read_bytes()
        readme = zf.read(f"{folder}/README.txt").decode()
        pdfs = [n for n in names if n.endswith(".pdf")]
        assert all(zf.read(n).startswith(b"%PDF") for n in pdfs)
        zf.extractall(tmp_path / "unzipped")
    assert "python3 verify.py" in readme and "甲村" in readme
    assert [e["seq"] for e in entries] == [1, 2, 3, 5]
    assert [e["payload"]["kind"] for e in entries] == ["approved"] * 3 + ["withdrawn"]
    assert [r["seq"] for r in skeleton["entries"]] == [1, 2, 3, 4, 5]
    assert all("payload" not in r for r in skeleton["entries"])
    assert len(pdfs) == 3  # the approved entries in range; none for the withdrawal

    inside = run_verify("verify.py", cwd=tmp_path / "unzipped" / folder)
    assert inside.returncode == 0, inside.stdout + inside.stderr
    assert "校验通过" in inside.stdout
    whole = run_verify(str(tmp_path / "unzipped" / folder / "verify.py"), str(zip_path), cwd=tmp_path)
    assert whole.returncode == 0, whole.stdout + whole.stderr

    def edit_second(data: bytes) -> bytes:
        rows = json.loads(data)
        rows[1]["payload"]["version"]["title"] = "十一月党费收缴（改）"
        return json.dumps(rows, ensure_ascii=False).encode()

    edited = run_verify(str(tmp_path / "unzipped" / folder / "verify.py"), str(rewritten(zip_path, "entries.json", edit_second)), cwd=tmp_path)
    assert edited.returncode == 1
    assert f"区域 {w.village_a.id} 第 2 条" in edited.stdout and "内容被改过" in edited.stdout

    swapped_pdf = rewritten(zip_path, pdfs[0].split("/")[-1], lambda data: data + b"\n% appended")
    pdf_check = run_verify(str(tmp_path / "unzipped" / folder / "verify.py"), str(swapped_pdf), cwd=tmp_path)
    assert pdf_check.returncode == 1 and "文件被改过" in pdf_check.stdout

    noted = session.scalars(select(AuditEvent).where(AuditEvent.action == "archive.export")).all()
    assert [(e.username, e.detail["entries"]) for e in noted] == [("supervisor", 4)]
    assert noted[0].detail["sha256"] == archive_check.sha256_hex(zip_path.read_bytes())


def test_an_export_too_large_for_one_zip_is_refused_naming_the_field(session, make_world):
    from server.domain.errors import ValidationFailed

    w = make_world(session)
    three(session, w)
    with pytest.raises(ValidationFailed) as refused:
        archive.export_zip(session, w.supervisor, w.village_a.id, dt.date(2026, 11, 1), dt.date(2026, 11, 30), NOW,
                           public_url="http://s.test", secret=b"x", timezone="Asia/Shanghai", limit=2)
    assert refused.value.field == "to" and "3 条" in refused.value.message
    with pytest.raises(ValidationFailed) as backwards:
        archive.export_zip(session, w.supervisor, w.village_a.id, dt.date(2026, 11, 30), dt.date(2026, 11, 1), NOW,
                           public_url="http://s.test", secret=b"x", timezone="Asia/Shanghai")
    assert backwards.value.field == "to"


@pytest.mark.parametrize("session", ["sqlite"], indirect=True)
def test_the_exported_pdf_is_the_archived_version_not_the_current_one(session, make_world, tmp_path):
    from server.domain import printing

    w = make_world(session)
    d = publish(session, w, "十月财务公开")
    # Later the live row changes (say, a correction supersedes it): the PDF still prints what was archived.
    session.execute(text("UPDATE disclosure_versions SET title = '后来的标题' WHERE disclosure_id = :d"), {"d": d.id})
    session.execute(text("UPDATE disclosures SET title = '后来的标题' WHERE id = :d"), {"d": d.id})
    seen: list[dict] = []
    real = printing.render_pdf

    def spy(data, *args):
        seen.append(data)
        return real(data, *args)

    printing.render_pdf = spy
    try:
        export(session, w.supervisor, w.village_a.id, tmp_path)
    finally:
        printing.render_pdf = real
    assert [data["title"] for data in seen] == ["十月财务公开"]


# --------------------------------------------------------------------------- races


RACERS = 8


def racing_appends(factory, make_world, mode: str) -> tuple[int, list[str]]:
    """RACERS threads append to one village's chain at the same moment, each in its own
    transaction: `approve` approves a different item each (the approval records it);
    `record` records a withdrawal of an approved item each, with nothing else written
    first (so nothing but the archive's own lock orders them)."""
    with factory() as s, s.begin():
        w = make_world(s)
        ids = []
        for n in range(RACERS):
            d = disclosures.create_draft(
                s, w.editor,
                DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title=f"并发存档 {n}",
                           valid_from=NOW, body="正文"),
                NOW,
            )
            disclosures.submit(s, w.editor, d.id, NOW)
            if mode == "record":
                disclosures.approve(s, w.reviewer, d.id, NOW)
            ids.append(d.id)
        area_id, reviewer_id = w.village_a.id, w.reviewer.id
    start = threading.Barrier(RACERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(disclosure_id: int) -> None:
        write_intent.set(True)  # what the request edge declares for a POST
        start.wait()
        try:
            with Session(bind=factory.kw["bind"], expire_on_commit=False) as s, s.begin():
                reviewer = s.get_one(User, reviewer_id)
                if mode == "approve":
                    disclosures.approve(s, reviewer, disclosure_id, NOW)  # records its entry
                else:  # the archive's own call, with nothing written before it
                    archive.record(s, "withdrawn", s.get_one(Disclosure, disclosure_id), NOW, reviewer, reason="并发")
            result = "ok"
        except Exception as err:  # noqa: BLE001 - the test reports whatever went wrong
            result = repr(err)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return area_id, outcomes


@pytest.mark.parametrize("mode", ["approve", "record"])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_simultaneous_appends_in_one_area_make_one_linear_chain(request, backend, mode, make_world):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "fresh_pg")
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        area_id, outcomes = racing_appends(factory, make_world, mode)
        assert outcomes == ["ok"] * RACERS
        with factory() as s:
            rows = chain(s, area_id)
            assert [e.kind for e in rows].count("withdrawn" if mode == "record" else "approved") == RACERS
            assert [e.seq for e in rows] == list(range(1, len(rows) + 1))
            assert archive.verify(s) == []
    finally:
        engine.dispose()


def zipped_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


# --------------------------------------------------------------------------- edges


def seeded(app, world) -> list[int]:
    """Three approved, archived items of village A in the app's database; their disclosure ids."""
    from server.extensions import session_scope

    with app.app_context(), session_scope(write=True) as s:
        w = type("W", (), {})()
        w.editor, w.reviewer = s.get_one(User, world.editor.id), s.get_one(User, world.reviewer.id)
        w.village_a, w.item_public = world.village_a, world.item_public
        return [
            publish(s, w, title, NOW + dt.timedelta(minutes=n)).id
            for n, title in enumerate(["十月财务公开", "十一月党费收缴", "低保名单公示"])
        ]


def tamper(app, sql: str, **params) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    with engine.begin() as conn:
        lift_guard(conn)
        conn.execute(text(sql), params)
    engine.dispose()


NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def test_the_archive_page_lists_entries_checks_the_chain_and_exports(app, client, world, login):
    seeded(app, world)
    login("supervisor")
    assert "请选择区域" in client.get("/admin/archive").get_data(as_text=True)
    query = f"area_id={world.village_a.id}&since=2026-11-01&until=2026-11-30"
    page = client.get(f"/admin/archive?{query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("审核通过") >= 3 and "十一月党费收缴" in html and "reviewer" in html
    assert "校验通过" in html and "导出 ZIP" in html
    download = client.get(f"/admin/archive.zip?{query}")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert any(n.endswith("/verify.py") for n in zipped_names(download.data))

    tamper(app, "UPDATE archive_entries SET payload = payload || ' ' WHERE seq = 2 AND area_id = :a", a=world.village_a.id)
    html = client.get(f"/admin/archive?{query}").get_data(as_text=True)
    assert "校验未通过" in html and f"区域 {world.village_a.id} 第 2 条" in html and "内容被改过" in html


def test_the_api_lists_an_areas_archive_and_exports_it_audited(app, client, world, bearer):
    seeded(app, world)
    headers = bearer("supervisor")
    listed = client.get(f"/api/v1/areas/{world.village_a.id}/archive", query_string=NOVEMBER, headers=headers)
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert body["intact"] is True and body["problems"] == []
    assert [(i["seq"], i["kind"], i["title"], i["approver"]) for i in body["items"]] == [
        (1, "approved", "十月财务公开", "reviewer"), (2, "approved", "十一月党费收缴", "reviewer"),
        (3, "approved", "低保名单公示", "reviewer"),
    ]
    assert body["head"] == body["items"][-1]["entry_hash"]
    assert body["items"][0]["valid_from"].startswith("2026-11-20T02:00:00")

    zipped = client.get(f"/api/v1/areas/{world.village_a.id}/archive.zip", query_string=NOVEMBER, headers=headers)
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    from server.extensions import session_scope

    with app.app_context(), session_scope() as s:
        noted = s.scalars(select(AuditEvent).where(AuditEvent.action == "archive.export")).all()
        assert [(e.username, e.detail["entries"], e.detail["sha256"]) for e in noted] == [
            ("supervisor", 3, archive_check.sha256_hex(zipped.data))
        ]

    backwards = client.get(f"/api/v1/areas/{world.village_a.id}/archive",
                           query_string={"from": "2026-11-30", "to": "2026-11-01"}, headers=headers)
    assert backwards.status_code == 422 and backwards.get_json()["details"]["field"] == "to"


def test_editors_and_other_villages_get_no_archive(app, client, world, bearer, login):
    from server.domain import users
    from server.extensions import session_scope

    seeded(app, world)
    with app.app_context(), session_scope(write=True) as s:
        users.create_user(s, username="editor_b", password="correct-horse", display_name="乙村经办人",
                          grants=[(Role.editor, s.get_one(type(world.village_b), world.village_b.id))])
    a = world.village_a.id
    for who, status in (("editor_b", 404), ("editor_a", 403)):
        headers = bearer(who)
        for path in (f"/api/v1/areas/{a}/archive", f"/api/v1/areas/{a}/archive.zip"):
            resp = client.get(path, query_string=NOVEMBER, headers=headers)
            assert resp.status_code == status, (who, path, resp.get_data(as_text=True))
            assert "十月财务公开" not in resp.get_data(as_text=True)
    login("editor_a")
    assert client.get(f"/admin/archive?area_id={a}").status_code == 403
    assert client.get(f"/admin/archive.zip?area_id={a}&since=2026-11-01&until=2026-11-30").status_code == 403


def test_the_archive_command_verifies_and_exports(app, world, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from server.cli import main

    seeded(app, world)
    monkeypatch.setenv("SUNWALL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUNWALL_DATABASE_URL", app.config["DATABASE_URL"])
    runner = CliRunner()
    intact = runner.invoke(main, ["archive", "verify"], catch_exceptions=False)
    assert intact.exit_code == 0, intact.output
    assert "archive intact: 1 area(s), 3 entries" in intact.output

    out = tmp_path / "甲村档案.zip"
    made = runner.invoke(main, ["archive", "export", "--area", str(world.village_a.id), "--from", "2026-11-01",
                                "--to", "2026-11-30", "--out", str(out)], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(out) as zf:
        script = next(n for n in zf.namelist() if n.endswith("/verify.py"))
        (tmp_path / "verify.py").write_bytes(zf.read(script))
    checked = run_verify("verify.py", str(out), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout

    tamper(app, "DELETE FROM archive_entries WHERE seq = 3 AND area_id = :a", a=world.village_a.id)
    broken = runner.invoke(main, ["archive", "verify", "--area", str(world.village_a.id)], catch_exceptions=False)
    assert broken.exit_code == 1
    assert broken.output.strip().splitlines() == [
        f"区域 {world.village_a.id} 第 3 条：条目被删除：审计日志记有这一条，档案里没有（末尾的条目被删除）"
    ]
