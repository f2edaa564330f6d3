"""Per-screen manifests: the pure loop plan and scope rules (both backends)."""

from __future__ import annotations

import datetime as dt

from server.domain import disclosures, feedback, manifests
from server.domain.disclosures import DraftInput
from server.domain.manifests import LoopCandidate, plan_loop

T0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
SECRET = b"test-secret"


def cand(i: int, start_days: int, end_days: int | None) -> LoopCandidate:
    return LoopCandidate(i, T0 + dt.timedelta(days=start_days), T0 + dt.timedelta(days=end_days) if end_days is not None else None)


def test_plan_loop_keeps_what_is_in_effect_and_says_when_it_next_changes():
    rows = [cand(1, -5, 3), cand(2, -1, None), cand(3, 2, 10), cand(4, -10, -1)]
    shown, next_change = plan_loop(rows, T0)
    assert [c.disclosure_id for c in shown] == [1, 2]
    assert next_change == T0 + dt.timedelta(days=2)  # item 3 starts before item 1 ends
    shown, next_change = plan_loop(rows, T0 + dt.timedelta(days=2))
    assert [c.disclosure_id for c in shown] == [1, 2, 3]
    assert next_change == T0 + dt.timedelta(days=3)
    assert plan_loop([], T0) == ([], None)


def test_an_item_ends_exactly_at_valid_to():
    rows = [cand(1, -1, 1)]
    assert plan_loop(rows, T0 + dt.timedelta(days=1))[0] == []
    assert plan_loop(rows, T0 + dt.timedelta(days=1) - dt.timedelta(seconds=1))[0] == rows


def publish(session, w, area, item, title, now):
    d = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=area.id, catalogue_item_id=item.id, title=title, valid_from=now - dt.timedelta(days=1), body="正文"),
        now,
    )
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.approve(session, w.reviewer, d.id, now)
    return d


def titles(manifest):
    return [b["title"] for b in manifest["boards"]]


def test_screens_get_their_villages_and_the_townships_public_items_only(session, make_world, now):
    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, "甲村公开", now)
    publish(session, w, w.village_b, w.item_public, "乙村公开", now)
    publish(session, w, w.town, w.item_public, "全镇公开", now)
    publish(session, w, w.village_a, w.item_internal, "甲村党内", now)
    draft = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="未审核草稿", valid_from=now, body="x"),
        now,
    )
    assert draft.id

    public_a = manifests.build_manifest(session, w.screen_a, now, "http://s.test", SECRET)
    internal_a = manifests.build_manifest(session, w.screen_a_internal, now, "http://s.test", SECRET)
    public_b = manifests.build_manifest(session, w.screen_b, now, "http://s.test", SECRET)

    assert set(titles(public_a)) == {"甲村公开", "全镇公开", "甲村回音壁"}
    assert set(titles(internal_a)) == {"甲村公开", "全镇公开", "甲村党内", "甲村回音壁"}
    assert set(titles(public_b)) == {"乙村公开", "全镇公开", "乙村回音壁"}
    # The internal item's text is nowhere in a public screen's manifest.
    assert "甲村党内" not in str(public_a)
    for board in public_a["boards"]:
        assert board["qr_url"].startswith("http://s.test/q/")
        assert f".{w.screen_a.id}." in board["qr_url"]


def test_manifest_version_changes_only_with_content(session, make_world, now):
    w = make_world(session)
    first = manifests.build_manifest(session, w.screen_a, now, "http://s.test", SECRET)
    again = manifests.build_manifest(session, w.screen_a, now + dt.timedelta(minutes=5), "http://s.test", SECRET)
    assert first["version"] == again["version"]
    publish(session, w, w.village_a, w.item_public, "新公告", now)
    changed = manifests.build_manifest(session, w.screen_a, now, "http://s.test", SECRET)
    assert changed["version"] != first["version"]


def test_echo_wall_board_is_anonymised(session, make_world, now):
    w = make_world(session)
    ticket = feedback.submit(
        session, feedback.FeedbackInput(kind="suggestion", body="路灯坏了 13812345678", anonymous=False, name="李大爷", phone="13900001111"),
        area=w.village_a, disclosure=None, device=w.screen_a, now=now,
    )
    feedback.answer(session, w.handler, ticket.id, "已修好", True, now)
    manifest = manifests.build_manifest(session, w.screen_a, now, "http://s.test", SECRET)
    echo = next(b for b in manifest["boards"] if b["kind"] == "echo_wall")
    assert "路灯坏了" in echo["html"] and "已修好" in echo["html"]
    assert "李大爷" not in str(manifest) and "13900001111" not in str(manifest) and "13812345678" not in str(manifest)
    other = manifests.build_manifest(session, w.screen_b, now, "http://s.test", SECRET)
    assert "路灯坏了" not in str(other)


def test_board_html_escapes_user_text(session, make_world, now):
    w = make_world(session)
    publish(session, w, w.village_a, w.item_public, '<script>alert(1)</script>标题', now)
    manifest = manifests.build_manifest(session, w.screen_a, now, "http://s.test", SECRET)
    html = "".join(b["html"] for b in manifest["boards"])
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_boards_carry_the_end_of_their_posting_period(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(
        session, w.editor,
        DraftInput(area_id=w.village_a.id, catalogue_item_id=w.item_public.id, title="七天公示",
                   valid_from=now - dt.timedelta(days=1), valid_to=now + dt.timedelta(days=6), body="x"),
        now,
    )
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.approve(session, w.reviewer, d.id, now)
    manifest = manifests.build_manifest(session, w.screen_a, now, "http://s.test", SECRET)
    board = next(b for b in manifest["boards"] if b["title"] == "七天公示")
    assert board["until"] == (now + dt.timedelta(days=6)).isoformat()
    assert manifest["next_change_at"] == board["until"]
    assert next(b for b in manifest["boards"] if b["kind"] == "echo_wall")["until"] is None


def test_a_township_screen_shows_its_villages_public_answers_at_once(session, make_world, now):
    """Defect: the echo-wall query, the cache key and the rooms each chose 'which areas'."""
    from server.domain import areas, devices
    from server.models import DeviceKind, Orientation

    w = make_world(session)
    town_hall = areas.create_site(session, w.town, "测试镇便民服务中心")
    town_screen = devices.create_device(
        session, None, town_hall, "镇大厅屏", DeviceKind.signage, Orientation.landscape, now
    )
    before = manifests.build_manifest(session, town_screen, now, "http://s.test", SECRET)  # now cached
    ticket = feedback.submit(
        session, feedback.FeedbackInput(kind="question", body="甲村路灯什么时候修？"),
        area=w.village_a, disclosure=None, device=w.screen_a, now=now,
    )
    feedback.answer(session, w.handler, ticket.id, "本周修好", True, now)
    after = manifests.build_manifest(session, town_screen, now, "http://s.test", SECRET)
    assert "本周修好" in str(after) and after["version"] != before["version"]
    assert "本周修好" not in str(manifests.build_manifest(session, w.screen_b, now, "http://s.test", SECRET))


def test_a_change_nudges_exactly_the_screens_that_read_from_its_area(session, make_world):
    """The rooms of a change and the rooms of a screen agree with what the screen reads."""
    from sqlalchemy import select

    from server.domain import areas, devices, reach
    from server.models import Area, DeviceKind, Orientation
    from tests.conftest import NOW

    w = make_world(session)
    town_screen = devices.create_device(
        session, None, areas.create_site(session, w.town, "镇大厅"), "镇大厅屏", DeviceKind.signage,
        Orientation.landscape, NOW,
    )
    screens = [w.screen_a, w.screen_a_internal, w.screen_b, town_screen]
    for changed in (w.town, w.village_a, w.village_b):
        for internal_only in (False, True):
            rooms = set(reach.change_rooms(changed.path, internal_only))
            for screen in screens:
                area = screen.site.area
                reads = session.scalars(select(Area.id).where(reach.sources_clause(area))).all()
                expected = changed.id in reads and (screen.internal or not internal_only)
                assert bool(rooms & set(reach.screen_rooms(screen))) == expected, (changed.name, screen.name)
