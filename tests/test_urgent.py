"""Domain: urgent notices — drafting rules, four eyes, cancelling, receipts and delivery —
on SQLite and PostgreSQL, plus the races (approvals, receipts) on real databases."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.db import make_engine, make_sessionmaker, write_intent
from server.domain import changes, urgent, users
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.urgent import ReceiptItem, UrgentInput
from server.models import (
    AuditEvent,
    Device,
    LoopRevision,
    Role,
    Scope,
    TargetKind,
    UrgentNotice,
    UrgentReceipt,
    UrgentStatus,
    User,
)
from tests.conftest import NOW

HOUR = dt.timedelta(hours=1)


def notice_input(w, **over) -> UrgentInput:
    data = dict(
        area_id=w.town.id,
        title="暴雨红色预警",
        body="今晚有特大暴雨，请勿前往河道。\n值班电话：0571-12345678",
        target_kind=TargetKind.area,
        target_id=w.village_a.id,
        ends_at=NOW + 6 * HOUR,
    )
    data.update(over)
    return UrgentInput(**data)


def submitted(session, w, now, author=None, **over) -> UrgentNotice:
    n = urgent.create(session, author or w.editor, notice_input(w, **over), now)
    urgent.submit(session, author or w.editor, n.id, now)
    return n


def approved(session, w, now, **over) -> UrgentNotice:
    n = submitted(session, w, now, **over)
    urgent.approve(session, w.reviewer, n.id, now, n.content_hash)
    return n


def person(session, name: str, *grants) -> User:
    return users.create_user(session, username=name, password="correct-horse", display_name=name, grants=list(grants))


def facts(session) -> list:
    return list(session.info.get("pending_changes", []))


# --------------------------------------------------------------------------- drafting


def test_a_draft_keeps_the_text_target_and_period_and_is_audited(session, make_world, now):
    w = make_world(session)
    n = urgent.create(session, w.editor, notice_input(w, title="  暴雨   红色预警 "), now)
    assert n.status is UrgentStatus.draft
    assert n.title == "暴雨 红色预警"
    assert n.body.endswith("0571-12345678")  # a duty phone stays readable
    assert (n.target_kind, n.target_id, n.scope) == (TargetKind.area, w.village_a.id, Scope.public)
    assert n.starts_at is None and n.ends_at == now + 6 * HOUR
    assert len(n.content_hash) == 64 and n.content_hash == urgent.hash_of(n)
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "urgent.create")) == 1


def test_the_end_is_required_and_named_on_its_field(session, make_world, now):
    w = make_world(session)
    with pytest.raises(ValidationFailed, match="紧急通知必须填写结束时间") as err:
        urgent.create(session, w.editor, notice_input(w, ends_at=None), now)
    assert err.value.field == "ends_at"
    assert session.scalar(select(func.count(UrgentNotice.id))) == 0


@pytest.mark.parametrize(
    "starts, ends, field, message",
    [
        (NOW + 3 * HOUR, NOW + 2 * HOUR, "ends_at", "结束时间必须晚于开始时间"),
        (NOW + 2 * HOUR, NOW + 2 * HOUR, "ends_at", "结束时间必须晚于开始时间"),
        (None, NOW - HOUR, "ends_at", "已经过去"),
        (None, NOW + dt.timedelta(days=7, minutes=1), "ends_at", "最长显示 7 天"),
        (NOW + 24 * HOUR, NOW + dt.timedelta(days=8, hours=1), "ends_at", "最长显示 7 天"),
        (None, dt.datetime(2026, 11, 20, 18, 0), "ends_at", "时区"),
        (dt.datetime(2026, 11, 20, 12, 0), NOW + 6 * HOUR, "starts_at", "时区"),
    ],
)
def test_bad_periods_are_refused_on_the_right_field(session, make_world, now, starts, ends, field, message):
    w = make_world(session)
    with pytest.raises(ValidationFailed, match=message) as err:
        urgent.create(session, w.editor, notice_input(w, starts_at=starts, ends_at=ends), now)
    assert err.value.field == field


def test_exactly_seven_days_is_allowed(session, make_world, now):
    w = make_world(session)
    n = urgent.create(session, w.editor, notice_input(w, starts_at=now + HOUR, ends_at=now + HOUR + dt.timedelta(days=7)), now)
    assert n.ends_at - n.starts_at == dt.timedelta(days=7)


def test_title_and_body_limits(session, make_world, now):
    w = make_world(session)
    with pytest.raises(ValidationFailed, match="请填写标题") as err:
        urgent.create(session, w.editor, notice_input(w, title="   "), now)
    assert err.value.field == "title"
    with pytest.raises(ValidationFailed, match="标题最多 40 个字") as err:
        urgent.create(session, w.editor, notice_input(w, title="水" * 41), now)
    assert err.value.field == "title"
    with pytest.raises(ValidationFailed, match="正文最多 300 个字") as err:
        urgent.create(session, w.editor, notice_input(w, body="雨" * 301), now)
    assert err.value.field == "body"
    n = urgent.create(session, w.editor, notice_input(w, title="水" * 40, body="雨" * 300), now)
    assert len(n.title) == 40 and len(n.body) == 300


def test_id_numbers_are_masked_but_phone_numbers_kept(session, make_world, now):
    w = make_world(session)
    n = urgent.create(session, w.editor, notice_input(w, body="联系人身份证 110101199003071234\n电话 13812345678"), now)
    assert "110101199003071234" not in n.body and "13812345678" in n.body


def test_the_target_must_lie_inside_the_drafting_area(session, make_world, now):
    w = make_world(session)
    # A village editor may not send a notice to the other village's hall.
    with pytest.raises(ValidationFailed, match="不在你可以发布") as err:
        urgent.create(session, w.editor_a, notice_input(w, area_id=w.village_a.id, target_kind=TargetKind.site, target_id=w.site_b.id), now)
    assert err.value.field == "target_id"
    # Nor to the whole township, above its own area.
    with pytest.raises(ValidationFailed) as err:
        urgent.create(session, w.editor_a, notice_input(w, area_id=w.village_a.id, target_id=w.town.id), now)
    assert err.value.field == "target_id"
    # A township editor issuing in village A's name cannot aim at village B either.
    with pytest.raises(ValidationFailed, match="发布单位") as err:
        urgent.create(session, w.editor, notice_input(w, area_id=w.village_a.id, target_kind=TargetKind.device, target_id=w.screen_b.id), now)
    assert err.value.field == "target_id"
    # Unknown targets look the same as ones out of reach.
    with pytest.raises(ValidationFailed, match="未找到") as err:
        urgent.create(session, w.editor, notice_input(w, target_kind=TargetKind.group, target_id=999_999), now)
    assert err.value.field == "target_id"
    # Inside the area it works, for every kind.
    for kind, ident in [(TargetKind.site, w.site_a.id), (TargetKind.device, w.screen_a.id), (TargetKind.area, w.village_a.id)]:
        urgent.create(session, w.editor_a, notice_input(w, area_id=w.village_a.id, target_kind=kind, target_id=ident), now)


def test_only_editors_and_schedulers_draft(session, make_world, now):
    w = make_world(session)
    scheduler = person(session, "scheduler_t", (Role.scheduler, w.town))
    assert urgent.create(session, scheduler, notice_input(w), now).author_id == scheduler.id
    for who in (w.reviewer, w.handler, w.supervisor):
        with pytest.raises(Forbidden):
            urgent.create(session, who, notice_input(w), now)
    with pytest.raises(NotFound):
        urgent.create(session, w.editor_a, notice_input(w), now)  # the township is above village A


def test_an_internal_notice_needs_a_party_screen_in_its_target(session, make_world, now):
    w = make_world(session)
    with pytest.raises(ValidationFailed, match="党员活动室屏") as err:
        urgent.create(session, w.editor, notice_input(w, scope=Scope.internal, target_kind=TargetKind.site, target_id=w.site_b.id), now)
    assert err.value.field == "target_id"


def test_only_drafts_and_rejected_notices_are_edited(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now)
    with pytest.raises(Conflict):
        urgent.update(session, w.editor, n.id, notice_input(w, title="改"), now)
    urgent.reject(session, w.reviewer, n.id, now, "请写明撤离地点")
    before = n.content_hash
    urgent.update(session, w.editor, n.id, notice_input(w, body="请撤离到村委会"), now + HOUR)
    assert n.status is UrgentStatus.draft and n.body == "请撤离到村委会" and n.content_hash != before
    urgent.submit(session, w.editor, n.id, now + HOUR)
    assert n.status is UrgentStatus.submitted


def test_submitting_notes_the_announcement_for_reviewers(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now)
    (fact,) = [f for f in facts(session) if isinstance(f, changes.UrgentSubmitted)]
    assert fact == changes.UrgentSubmitted(n.id, w.town.path, "暴雨红色预警", "测试镇")
    with pytest.raises(Conflict):
        urgent.submit(session, w.editor, n.id, now)


# --------------------------------------------------------------------------- four eyes


def test_approval_publishes_at_once_and_nudges_the_targets_screens(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now)
    session.info.pop("pending_changes", None)
    revision = session.scalar(select(LoopRevision.revision).where(LoopRevision.area_id == w.village_a.id))
    later = now + dt.timedelta(minutes=5)
    urgent.approve(session, w.reviewer, n.id, later, n.content_hash, "同意")
    assert n.status is UrgentStatus.approved
    assert (n.reviewer_id, n.decided_at, n.starts_at, n.review_comment) == (w.reviewer.id, later, later, "同意")
    assert urgent.is_live(n, later)
    (loop,) = [f for f in facts(session) if isinstance(f, changes.LoopChanged)]
    assert loop.area_path == w.village_a.path and not loop.internal_only  # the target's home
    assert session.scalar(select(LoopRevision.revision).where(LoopRevision.area_id == w.village_a.id)) == revision + 1
    session.expire_all()
    stored = session.get_one(UrgentNotice, n.id)
    assert stored.status is UrgentStatus.approved and stored.starts_at == later
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "urgent.approve")).one()
    assert event.detail["content_hash"] == n.content_hash and event.detail["authors"] == ["editor"]


def test_a_chosen_start_is_kept(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now, starts_at=now + 2 * HOUR)
    assert n.starts_at == now + 2 * HOUR and urgent.phase(n, now) == "upcoming"
    assert urgent.phase(n, now + 3 * HOUR) == "live" and urgent.phase(n, now + 7 * HOUR) == "ended"


def test_the_author_may_never_approve_their_own_notice(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now, author=w.admin)  # admins may draft and review, not both
    with pytest.raises(Forbidden, match="不能审核它"):
        urgent.approve(session, w.admin, n.id, now, n.content_hash)
    with pytest.raises(Forbidden):
        urgent.reject(session, w.admin, n.id, now, "不行")
    assert n.status is UrgentStatus.submitted


def test_whoever_edited_the_notice_may_not_approve_it_either(session, make_world, now):
    w = make_world(session)
    both = person(session, "both", (Role.editor, w.town), (Role.reviewer, w.town))
    n = urgent.create(session, w.editor, notice_input(w), now)
    urgent.update(session, both, n.id, notice_input(w, body="改过的正文"), now)
    urgent.submit(session, w.editor, n.id, now)
    assert urgent.authors_of(session, n) == [w.editor.id, both.id]
    with pytest.raises(Forbidden):
        urgent.approve(session, both, n.id, now, n.content_hash)
    urgent.approve(session, w.reviewer, n.id, now, n.content_hash)


def test_approval_names_the_content_the_reviewer_saw(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now)
    with pytest.raises(ValidationFailed) as err:
        urgent.approve(session, w.reviewer, n.id, now, None)
    assert err.value.field == "expected_hash"
    with pytest.raises(Conflict, match="已被修改") as err:
        urgent.approve(session, w.reviewer, n.id, now, "0" * 64)
    assert err.value.field == "expected_hash"
    assert n.status is UrgentStatus.submitted


def test_only_reviewers_of_the_area_approve_and_only_submitted_notices(session, make_world, now):
    w = make_world(session)
    draft = urgent.create(session, w.editor, notice_input(w), now)
    with pytest.raises(Conflict):
        urgent.approve(session, w.reviewer, draft.id, now, draft.content_hash)
    n = submitted(session, w, now)
    with pytest.raises(Forbidden):
        urgent.approve(session, w.handler, n.id, now, n.content_hash)
    village_reviewer = person(session, "reviewer_a", (Role.reviewer, w.village_a))
    with pytest.raises(NotFound):  # the township's notice is above village A
        urgent.approve(session, village_reviewer, n.id, now, n.content_hash)


def test_a_notice_whose_end_has_passed_cannot_be_approved(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now, ends_at=now + HOUR)
    with pytest.raises(Conflict, match="结束时间已经过去"):
        urgent.approve(session, w.reviewer, n.id, now + 2 * HOUR, n.content_hash)
    assert n.status is UrgentStatus.submitted


def test_rejection_needs_a_reason(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now)
    with pytest.raises(ValidationFailed) as err:
        urgent.reject(session, w.reviewer, n.id, now, "  ")
    assert err.value.field == "comment"
    urgent.reject(session, w.reviewer, n.id, now, "时间写错了")
    assert (n.status, n.review_comment, n.reviewer_id) == (UrgentStatus.rejected, "时间写错了", w.reviewer.id)


# --------------------------------------------------------------------------- cancel


def test_cancel_takes_it_off_with_a_reason(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now)
    session.info.pop("pending_changes", None)
    with pytest.raises(ValidationFailed) as err:
        urgent.cancel(session, w.reviewer, n.id, now, " ")
    assert err.value.field == "reason"
    with pytest.raises(Forbidden):
        urgent.cancel(session, w.handler, n.id, now, "险情解除")
    urgent.cancel(session, w.editor, n.id, now + HOUR, "险情解除")  # its author may
    assert (n.status, n.cancelled_by_id, n.cancel_reason, n.cancelled_at) == (UrgentStatus.cancelled, w.editor.id, "险情解除", now + HOUR)
    assert not urgent.is_live(n, now + HOUR)
    assert [f.area_path for f in facts(session) if isinstance(f, changes.LoopChanged)] == [w.village_a.path]
    with pytest.raises(Conflict):
        urgent.cancel(session, w.reviewer, n.id, now + HOUR, "再撤一次")
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "urgent.cancel")) == 1


def test_schedulers_and_reviewers_cancel_drafts_do_not_cancel(session, make_world, now):
    w = make_world(session)
    scheduler = person(session, "scheduler_t", (Role.scheduler, w.town))
    draft = urgent.create(session, w.editor, notice_input(w), now)
    with pytest.raises(Conflict):
        urgent.cancel(session, scheduler, draft.id, now, "不需要了")
    n = approved(session, w, now)
    urgent.cancel(session, scheduler, n.id, now, "不需要了")
    assert n.status is UrgentStatus.cancelled


def test_an_internal_notice_nudges_only_internal_screens(session, make_world, now):
    w = make_world(session)
    n = submitted(session, w, now, scope=Scope.internal)
    session.info.pop("pending_changes", None)
    urgent.approve(session, w.reviewer, n.id, now, n.content_hash)
    (loop,) = [f for f in facts(session) if isinstance(f, changes.LoopChanged)]
    assert loop.internal_only


# --------------------------------------------------------------------------- reading


def test_notices_are_seen_only_inside_the_users_areas(session, make_world, now):
    w = make_world(session)
    town = urgent.create(session, w.editor, notice_input(w), now)
    village = urgent.create(session, w.editor_a, notice_input(w, area_id=w.village_a.id), now)
    assert {n.id for n in urgent.list_visible(session, w.supervisor)} == {town.id, village.id}
    assert [n.id for n in urgent.list_visible(session, w.editor_a)] == [village.id]
    assert [n.id for n in urgent.list_visible(session, w.supervisor, UrgentStatus.submitted)] == []
    with pytest.raises(NotFound):
        urgent.get(session, w.editor_a, town.id)
    with pytest.raises(NotFound):
        urgent.delivery(session, w.editor_a, town.id, now)


def test_internal_scope_reaches_only_internal_screens_in_delivery(session, make_world, now):
    w = make_world(session)
    public = approved(session, w, now)
    internal = approved(session, w, now, scope=Scope.internal)
    assert {s.device.id for s in urgent.delivery(session, w.supervisor, public.id, now).screens} == {w.screen_a.id, w.screen_a_internal.id}
    report = urgent.delivery(session, w.supervisor, internal.id, now)
    assert [s.device.id for s in report.screens] == [w.screen_a_internal.id]
    assert (report.expected, report.received, report.shown) == (1, 0, 0)


# --------------------------------------------------------------------------- receipts


def test_receipts_keep_the_earliest_time_and_shown_implies_received(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now)
    device = w.screen_a
    t1, t2, t3 = now + dt.timedelta(seconds=5), now + dt.timedelta(seconds=9), now + dt.timedelta(seconds=20)
    assert urgent.record_receipts(session, device, [ReceiptItem(n.id, "received", t2)], now + HOUR) == 1
    assert urgent.record_receipts(session, device, [ReceiptItem(n.id, "received", t3), ReceiptItem(n.id, "received", t1)], now + HOUR) == 2
    assert urgent.record_receipts(session, device, [ReceiptItem(n.id, "shown", t3)], now + HOUR) == 1
    assert urgent.record_receipts(session, device, [ReceiptItem(n.id, "shown", t3 + HOUR)], now + HOUR) == 1  # a repeat
    session.expire_all()
    row = session.get_one(UrgentReceipt, (n.id, device.id))
    assert (row.received_at, row.shown_at) == (t1, t3)
    # Shown without an earlier "received" counts as received then.
    urgent.record_receipts(session, w.screen_a_internal, [ReceiptItem(n.id, "shown", t2)], now + HOUR)
    session.expire_all()
    other = session.get_one(UrgentReceipt, (n.id, w.screen_a_internal.id))
    assert (other.received_at, other.shown_at) == (t2, t2)
    recorded = [f for f in facts(session) if isinstance(f, changes.ReceiptRecorded)]
    assert changes.ReceiptRecorded(n.id, device.id, "received", t1) in recorded
    assert changes.ReceiptRecorded(n.id, device.id, "received", t3) not in recorded  # changed nothing


def test_receipt_times_are_clamped_to_approval_and_now(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now)
    urgent.record_receipts(session, w.screen_a, [ReceiptItem(n.id, "received", now + dt.timedelta(days=3))], now + HOUR)
    urgent.record_receipts(session, w.screen_a_internal, [ReceiptItem(n.id, "received", now - dt.timedelta(days=3))], now + HOUR)
    session.expire_all()
    assert session.get_one(UrgentReceipt, (n.id, w.screen_a.id)).received_at == now + HOUR
    assert session.get_one(UrgentReceipt, (n.id, w.screen_a_internal.id)).received_at == now


def test_receipts_for_unknown_or_unreached_notices_are_ignored_not_errors(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now)  # village A's screens
    internal = approved(session, w, now, scope=Scope.internal)
    draft = urgent.create(session, w.editor, notice_input(w), now)
    at = now + dt.timedelta(seconds=3)
    batch = [
        ReceiptItem(999_999, "received", at),  # unknown
        ReceiptItem(draft.id, "received", at),  # never approved
        ReceiptItem(internal.id, "received", at),  # internal, and this is a public screen
        ReceiptItem(n.id, "seen", at),  # not a state
        ReceiptItem(n.id, "received", at),  # the one good receipt
    ]
    assert urgent.record_receipts(session, w.screen_a, batch, now + HOUR) == 1
    # Village B's screen is not reached by a notice for village A.
    assert urgent.record_receipts(session, w.screen_b, [ReceiptItem(n.id, "received", at)], now + HOUR) == 0
    assert session.scalar(select(func.count()).select_from(UrgentReceipt)) == 1


def test_a_cancelled_notice_still_takes_late_receipts(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now)
    urgent.cancel(session, w.reviewer, n.id, now + HOUR, "解除")
    assert urgent.record_receipts(session, w.screen_a, [ReceiptItem(n.id, "shown", now + dt.timedelta(minutes=1))], now + 2 * HOUR) == 1


def test_delivery_lists_screens_not_yet_delivered_first_with_their_state(session, make_world, now):
    w = make_world(session)
    n = approved(session, w, now, target_id=w.town.id)
    later = now + dt.timedelta(minutes=10)
    for device, seen in [(w.screen_a, later - dt.timedelta(minutes=1)), (w.screen_b, later - dt.timedelta(minutes=30))]:
        session.get_one(Device, device.id).last_seen_at = seen
    session.flush()
    urgent.record_receipts(session, w.screen_a_internal, [ReceiptItem(n.id, "shown", now + dt.timedelta(seconds=4))], later)
    urgent.record_receipts(session, w.screen_a, [ReceiptItem(n.id, "received", now + dt.timedelta(seconds=2))], later)
    report = urgent.delivery(session, w.supervisor, n.id, later)
    assert [s.device.id for s in report.screens] == [w.screen_b.id, w.screen_a.id, w.screen_a_internal.id]
    first = report.screens[0]
    assert (first.received_at, first.online, first.last_seen_at) == (None, False, later - dt.timedelta(minutes=30))
    assert report.screens[1].online and report.screens[1].shown_at is None
    assert (report.expected, report.received, report.shown, report.online) == (3, 2, 1, 1)
    assert [s.device.id for s in report.pending] == [w.screen_b.id]


def test_counting_the_screens_a_target_reaches_agrees_with_listing_them(session, make_world):
    from server.domain import reach, schedules
    from server.models import Audience

    w = make_world(session)
    group = schedules.create_group(session, w.admin, w.town.id, "甲村两块屏", [w.screen_a.id, w.screen_a_internal.id], NOW)
    targets = [
        (TargetKind.area, w.town.id), (TargetKind.area, w.village_a.id), (TargetKind.area, 10**9),
        (TargetKind.site, w.site_a.id), (TargetKind.device, w.screen_b.id), (TargetKind.group, group.id),
    ]
    counts = []
    for kind, target_id in targets:
        for audience in (Audience.all, Audience.internal):
            listed = reach.target_devices(session, kind, target_id, audience)
            assert reach.target_device_count(session, kind, target_id, audience) == len(listed)
            counts.append(len(listed))
    assert max(counts) >= 3 and 0 in counts and 1 in counts  # the cases differ


# --------------------------------------------------------------------------- races


def _factory(request, backend):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "fresh_pg")
    engine = make_engine(url)
    return engine, make_sessionmaker(engine)


def _race(count: int, work) -> Counter[str]:
    start = threading.Barrier(count)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def one(i: int) -> None:
        write_intent.set(True)  # what the request and socket edges declare for a write
        start.wait()
        result = work(i)
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_twenty_simultaneous_approvals_make_one(request, backend, make_world):
    engine, factory = _factory(request, backend)
    try:
        with factory() as s, s.begin():
            w = make_world(s)
            n = submitted(s, w, NOW)
            notice_id, reviewer_id, expected = n.id, w.reviewer.id, n.content_hash

        def approve(_i: int) -> str:
            with Session(bind=engine, expire_on_commit=False) as s:
                try:
                    with s.begin():
                        urgent.approve(s, s.get_one(User, reviewer_id), notice_id, NOW + HOUR, expected)
                    return "approved"
                except Conflict:
                    return "conflict"

        assert _race(20, approve) == Counter({"approved": 1, "conflict": 19})
        with factory() as s:
            assert s.get_one(UrgentNotice, notice_id).status is UrgentStatus.approved
            assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "urgent.approve")) == 1
            assert s.scalar(select(LoopRevision.revision).join(UrgentNotice, UrgentNotice.target_id == LoopRevision.area_id)) == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_ten_simultaneous_reports_of_one_receipt_leave_one_row(request, backend, make_world):
    engine, factory = _factory(request, backend)
    try:
        with factory() as s, s.begin():
            w = make_world(s)
            n = submitted(s, w, NOW)
            urgent.approve(s, w.reviewer, n.id, NOW, n.content_hash)
            notice_id, device_id = n.id, w.screen_a.id
        times = [NOW + dt.timedelta(seconds=10 + i) for i in range(10)]

        def report(i: int) -> str:
            with Session(bind=engine, expire_on_commit=False) as s, s.begin():
                device = s.get_one(Device, device_id)
                items = [ReceiptItem(notice_id, "received", times[i]), ReceiptItem(notice_id, "shown", times[-1 - i])]
                return str(urgent.record_receipts(s, device, items, NOW + HOUR))

        assert _race(10, report) == Counter({"2": 10})
        with factory() as s:
            rows = s.scalars(select(UrgentReceipt)).all()
            assert [(r.notice_id, r.device_id) for r in rows] == [(notice_id, device_id)]
            assert (rows[0].received_at, rows[0].shown_at) == (times[0], times[0])
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- pages and API


@pytest.fixture
def clock(app):
    from server.clock import FixedClock

    fixed = FixedClock(NOW)
    app.extensions["sunwall.clock"] = fixed
    return fixed


def errors_of(html: str) -> list[str]:
    import re

    return re.findall(r'class="error" role="alert">([^<]*)<', html)


def form_data(client, world, **over):
    from tests.conftest import csrf_from

    page = client.get("/admin/urgent/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(page), "area_id": str(world.town.id), "title": "暴雨红色预警",
        "body": "今晚有特大暴雨。\n请勿前往河道。", "target": f"site:{world.site_a.id}", "scope": "public",
        "starts_at": "", "ends_at": "2026-11-20T16:00",  # local time: 08:00 UTC
    }
    data.update(over)
    return data


def seeded(app, world, *, approve: bool) -> int:
    """A submitted (or approved) notice for village A, committed in the app's database."""
    from server.extensions import session_scope

    with app.app_context(), session_scope() as s:
        editor, reviewer = s.get_one(User, world.editor.id), s.get_one(User, world.reviewer.id)
        n = urgent.create(s, editor, notice_input(world), NOW)
        urgent.submit(s, editor, n.id, NOW)
        if approve:
            urgent.approve(s, reviewer, n.id, NOW, n.content_hash)
        return n.id


def test_receipts_arriving_together_are_written_in_one_transaction_and_each_answered(app, world):
    from server.extensions import session_scope
    from server.models import UrgentReceipt
    from server.realtime import ReceiptDesk

    notice_id = seeded(app, world, approve=True)
    at = NOW + HOUR
    events = [
        (world.screen_a.id, "received"), (world.screen_a.id, "shown"),
        (world.screen_a_internal.id, "shown"),
        (world.screen_b.id, "shown"),  # another village: not a recipient
        (10**9, "shown"),  # no such screen
    ]
    queued = threading.Barrier(len(events))  # the pause: everyone is queued before anyone writes
    desk = ReceiptDesk(queued.wait)
    batches = []
    write = desk._write
    desk._write = lambda batch: (batches.append(len(batch)), write(batch))  # type: ignore[method-assign]
    answers = {}

    def send(i, device_id, state):
        with app.app_context():
            answers[i] = desk.record(device_id, [ReceiptItem(notice_id, state, at)])

    threads = [threading.Thread(target=send, args=(i, *e)) for i, e in enumerate(events)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert batches == [len(events)]
    assert [answers[i] for i in range(len(events))] == [
        {"ok": True, "accepted": 1}, {"ok": True, "accepted": 1}, {"ok": True, "accepted": 1},
        {"ok": True, "accepted": 0}, {"ok": False, "error": "unauthorized"},
    ]
    with app.app_context(), session_scope() as s:
        rows = {r.device_id: r for r in s.scalars(select(UrgentReceipt).where(UrgentReceipt.notice_id == notice_id))}
        assert set(rows) == {world.screen_a.id, world.screen_a_internal.id}
        assert rows[world.screen_a.id].shown_at is not None and rows[world.screen_a.id].received_at is not None


def test_a_batch_of_receipts_that_fails_keeps_nothing_and_tells_every_screen_to_send_again(app, world, monkeypatch):
    from server.extensions import session_scope
    from server.models import UrgentReceipt
    from server.realtime import ReceiptDesk

    notice_id = seeded(app, world, approve=True)
    real = urgent.record_receipts

    def failing(session, device, items, now):
        if device.id == world.screen_a_internal.id:
            raise RuntimeError("disk full")
        return real(session, device, items, now)

    monkeypatch.setattr(urgent, "record_receipts", failing)
    queued = threading.Barrier(2)
    desk, answers = ReceiptDesk(queued.wait), {}

    def send(device_id):
        with app.app_context():
            answers[device_id] = desk.record(device_id, [ReceiptItem(notice_id, "shown", NOW + HOUR)])

    threads = [threading.Thread(target=send, args=(d,)) for d in (world.screen_a.id, world.screen_a_internal.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert answers == {d: {"ok": False, "error": "not recorded, send again"} for d in (world.screen_a.id, world.screen_a_internal.id)}
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count()).select_from(UrgentReceipt)) == 0


def test_the_draft_form_names_a_missing_end_and_saves_nothing(app, client, world, login, clock):
    from server.extensions import session_scope

    login("editor")
    resp = client.post("/admin/urgent/new", data=form_data(client, world, ends_at=""))
    assert resp.status_code == 422
    assert errors_of(resp.get_data(as_text=True)) == ["结束时间：紧急通知必须填写结束时间。"]
    resp = client.post("/admin/urgent/new", data=form_data(client, world, target=f"site:{world.site_b.id}", scope="internal"))
    assert resp.status_code == 422
    assert errors_of(resp.get_data(as_text=True)) == ["发布到：所选场所没有党员活动室屏：党内通知只在党员活动室屏上显示。"]
    assert client.post("/admin/urgent/new", data={**form_data(client, world), "csrf_token": ""}).status_code == 400
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count(UrgentNotice.id))) == 0


def test_draft_submit_fast_approval_and_delivery_pages(app, client, world, login, clock):
    import re

    from server.extensions import session_scope
    from tests.conftest import csrf_from

    login("editor")
    resp = client.post("/admin/urgent/new", data=form_data(client, world))
    assert resp.status_code == 302, errors_of(resp.get_data(as_text=True))
    detail = resp.headers["Location"]
    page = client.get(detail).get_data(as_text=True)
    assert "暴雨红色预警" in page and "<p>请勿前往河道。</p>" in page and "2026年11月20日 16:00" in page
    assert client.post(detail + "/submit", data={"csrf_token": csrf_from(page)}).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_from(page)})

    login("reviewer")
    review = client.get(detail + "/review").get_data(as_text=True)
    assert "批准并立即发布" in review and "退回" in review and "将在 2 块屏幕上显示" in review
    assert "场所“甲村 · 甲村党群服务中心”" in review
    shown_hash = re.search(r'name="content_hash" value="([0-9a-f]{64})"', review).group(1)
    assert client.post(detail + "/approve", data={"content_hash": shown_hash}).status_code == 400  # no CSRF
    stale = client.post(detail + "/approve", data={"csrf_token": csrf_from(review), "content_hash": "0" * 64})
    assert stale.headers["Location"].endswith("/review")
    assert "内容已被修改" in client.get(stale.headers["Location"]).get_data(as_text=True)
    resp = client.post(detail + "/approve", data={"csrf_token": csrf_from(review), "content_hash": shown_hash})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/delivery")
    delivery = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已送达 0 / 2 块屏幕；已显示 0" in delivery and "离线（从未上线）" in delivery
    assert 'data-url="/api/v1/urgent-notices/' in delivery
    with app.app_context(), session_scope() as s:
        n = s.scalars(select(UrgentNotice)).one()
        assert n.status is UrgentStatus.approved and n.starts_at == NOW
    assert client.get(detail + "/preview/landscape").status_code == 200
    assert client.get(detail + "/preview/nope").status_code == 404


def test_rejecting_without_a_reason_stays_on_the_review_page(app, client, world, login, clock):
    from server.extensions import session_scope
    from tests.conftest import csrf_from

    notice_id = seeded(app, world, approve=False)
    login("reviewer")
    review = client.get(f"/admin/urgent/{notice_id}/review").get_data(as_text=True)
    assert re.search(r"发布于 \d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}　至 \d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} 止", review)
    resp = client.post(f"/admin/urgent/{notice_id}/reject", data={"csrf_token": csrf_from(review), "comment": ""})
    assert resp.status_code == 422 and "退回时请写明原因。" in resp.get_data(as_text=True)
    resp = client.post(f"/admin/urgent/{notice_id}/reject", data={"csrf_token": csrf_from(review), "comment": "地点写错"})
    assert resp.status_code == 302
    with app.app_context(), session_scope() as s:
        assert s.get_one(UrgentNotice, notice_id).status is UrgentStatus.rejected


def test_cancelling_asks_for_a_reason_and_a_tick(app, client, world, login, clock):
    from server.extensions import session_scope
    from tests.conftest import csrf_from

    notice_id = seeded(app, world, approve=True)
    login("reviewer")
    page = client.get(f"/admin/urgent/{notice_id}/cancel").get_data(as_text=True)
    assert "撤下" in page and "2 块屏幕" in page
    resp = client.post(f"/admin/urgent/{notice_id}/cancel", data={"csrf_token": csrf_from(page), "reason": "险情解除"})
    assert resp.status_code == 422 and "请先勾选确认" in resp.get_data(as_text=True)
    resp = client.post(f"/admin/urgent/{notice_id}/cancel", data={"csrf_token": csrf_from(page), "reason": "险情解除", "confirm": "y"})
    assert resp.status_code == 302
    with app.app_context(), session_scope() as s:
        assert s.get_one(UrgentNotice, notice_id).status is UrgentStatus.cancelled


def test_the_api_drafts_reviews_and_reports_delivery(app, client, world, bearer, clock):
    editor, reviewer, village = bearer("editor"), bearer("reviewer"), bearer("editor_a")
    body = {
        "area_id": world.town.id, "title": "停水通知", "body": "明天 8:00–12:00 停水",
        "target_kind": "area", "target_id": world.village_a.id, "scope": "internal",
    }
    missing = client.post("/api/v1/urgent-notices", json=body, headers=editor)
    assert missing.status_code == 422 and missing.get_json()["details"]["field"] == "ends_at"
    assert "紧急通知必须填写结束时间" in missing.get_json()["message"]
    body["ends_at"] = (NOW + 2 * HOUR).isoformat()
    created = client.post("/api/v1/urgent-notices", json=body, headers=editor)
    assert created.status_code == 201, created.get_json()
    n = created.get_json()
    assert (n["status"], n["screens"], n["starts_at"]) == ("draft", 1, None)
    nid = n["id"]
    assert client.get(f"/api/v1/urgent-notices/{nid}", headers=village).status_code == 404
    assert client.get("/api/v1/urgent-notices?status=nope", headers=editor).status_code == 400
    assert client.post(f"/api/v1/urgent-notices/{nid}/submit", headers=editor).status_code == 200
    assert [x["id"] for x in client.get("/api/v1/urgent-notices?status=submitted", headers=reviewer).get_json()["items"]] == [nid]
    assert client.post(f"/api/v1/urgent-notices/{nid}/approve", json={}, headers=reviewer).status_code == 422
    assert client.post(f"/api/v1/urgent-notices/{nid}/approve", json={"expected_hash": n["content_hash"]}, headers=editor).status_code == 403
    done = client.post(f"/api/v1/urgent-notices/{nid}/approve", json={"expected_hash": n["content_hash"]}, headers=reviewer)
    assert done.status_code == 200 and done.get_json()["phase"] == "live"
    report = client.get(f"/api/v1/urgent-notices/{nid}/delivery", headers=reviewer).get_json()
    assert [s["id"] for s in report["screens"]] == [world.screen_a_internal.id]  # internal only
    assert report["summary"] == "已送达 0 / 1 块屏幕；已显示 0"
    assert client.post(f"/api/v1/urgent-notices/{nid}/cancel", json={"reason": ""}, headers=reviewer).status_code == 422
    assert client.post(f"/api/v1/urgent-notices/{nid}/cancel", json={"reason": "已恢复供水"}, headers=reviewer).get_json()["status"] == "cancelled"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["paths"]["/urgent-notices/{notice_id}/delivery"]["get"]["tags"] == ["urgent"]
    assert spec["paths"]["/device/receipts"]["post"]["security"] == [{"deviceCredential": []}]
