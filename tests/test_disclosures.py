"""Domain: drafting and four-eyes review of disclosures (both database backends)."""

from __future__ import annotations

import datetime as dt

import pytest

from server.domain import disclosures
from server.domain.content import content_hash
from server.domain.disclosures import DraftInput
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.models import DisclosureKind, DisclosureStatus, ReviewDecision, Scope


def draft(world, area=None, **over):
    data = dict(
        area_id=(area or world.village_a).id,
        catalogue_item_id=world.item_public.id,
        title="甲村十月财务公开",
        valid_from=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        valid_to=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        body="## 收入\n\n- 转移支付 **5 万元**",
    )
    data.update(over)
    return DraftInput(**data)


def test_approval_records_reviewer_time_and_hash_of_the_exact_version(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    disclosures.submit(session, w.editor, d.id, now)
    later = now + dt.timedelta(hours=1)
    disclosures.approve(session, w.reviewer, d.id, later, "同意")

    assert d.status is DisclosureStatus.approved
    (review,) = d.reviews
    assert review.reviewer_id == w.reviewer.id
    assert review.decided_at == later
    assert review.decision is ReviewDecision.approved
    assert review.content_hash == d.latest_version.content_hash == d.published_version.content_hash
    assert len(review.content_hash) == 64


def test_the_author_can_never_approve_their_own_item(session, make_world, now):
    w = make_world(session)
    # The township admin may both draft and review, but not their own draft.
    d = disclosures.create_draft(session, w.admin, draft(w), now)
    disclosures.submit(session, w.admin, d.id, now)
    with pytest.raises(Forbidden, match="不能审核它"):
        disclosures.approve(session, w.admin, d.id, now)
    assert d.status is DisclosureStatus.submitted
    assert d.reviews == []


def test_editor_cannot_approve_and_reviewer_cannot_approve_a_draft(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    with pytest.raises(Conflict):
        disclosures.approve(session, w.reviewer, d.id, now)
    disclosures.submit(session, w.editor, d.id, now)
    with pytest.raises(Forbidden):
        disclosures.approve(session, w.editor_a, d.id, now)


def test_approval_of_a_changed_version_is_refused(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    seen = d.latest_version.content_hash
    disclosures.update_draft(session, w.editor, d.id, draft(w, title="改过的标题"), now)
    disclosures.submit(session, w.editor, d.id, now)
    with pytest.raises(Conflict):
        disclosures.approve(session, w.reviewer, d.id, now, expected_hash=seen)
    assert len(d.versions) == 2 and d.versions[0].content_hash != d.versions[1].content_hash


def test_village_user_cannot_see_another_villages_item(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w, area=w.village_b), now)
    with pytest.raises(NotFound):
        disclosures.get(session, w.editor_a, d.id)
    assert d.id not in [x.id for x in disclosures.list_visible(session, w.editor_a)]
    with pytest.raises(NotFound):
        disclosures.create_draft(session, w.editor_a, draft(w, area=w.village_b), now)


def test_reject_needs_a_reason_and_returns_the_item_for_editing(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    disclosures.submit(session, w.editor, d.id, now)
    with pytest.raises(ValidationFailed) as err:
        disclosures.reject(session, w.reviewer, d.id, now, "  ")
    assert err.value.field == "comment"
    disclosures.reject(session, w.reviewer, d.id, now, "金额请核对")
    assert d.status is DisclosureStatus.rejected
    disclosures.update_draft(session, w.editor, d.id, draft(w), now)
    assert d.status is DisclosureStatus.draft


def test_submitted_items_cannot_be_edited(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    disclosures.submit(session, w.editor, d.id, now)
    with pytest.raises(Conflict):
        disclosures.update_draft(session, w.editor, d.id, draft(w), now)


def test_internal_catalogue_items_cannot_be_published_to_the_public(session, make_world, now):
    w = make_world(session)
    with pytest.raises(ValidationFailed) as err:
        disclosures.create_draft(
            session, w.editor, draft(w, catalogue_item_id=w.item_internal.id, scope=Scope.public), now
        )
    assert err.value.field == "scope"
    d = disclosures.create_draft(session, w.editor, draft(w, catalogue_item_id=w.item_internal.id), now)
    assert d.scope is Scope.internal


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "长" * 121}, "title"),
        ({"body": ""}, "body"),
        ({"valid_to": dt.datetime(2026, 10, 1, tzinfo=dt.UTC)}, "valid_to"),
        ({"kind": DisclosureKind.table, "table": {"columns": ["a"], "rows": [["1", "2"]]}}, "table.rows"),
        ({"catalogue_item_id": 999999}, "catalogue_item_id"),
    ],
)
def test_bad_drafts_name_the_field_and_save_nothing(session, make_world, now, over, field):
    w = make_world(session)
    with pytest.raises(ValidationFailed) as err:
        disclosures.create_draft(session, w.editor, draft(w, **over), now)
    assert err.value.field == field
    assert disclosures.list_visible(session, w.editor) == []


def test_script_in_a_body_is_removed_and_tables_are_masked(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(
        session, w.editor,
        draft(w, body='<script>alert(1)</script><img src=x onerror="alert(2)">**好**'), now,
    )
    html = d.latest_version.body_html
    assert "<script" not in html and "onerror" not in html and "<strong>好</strong>" in html
    t = disclosures.create_draft(
        session, w.editor,
        draft(w, kind=DisclosureKind.table, body="",
              table={"columns": ["姓名", "身份证", "电话"], "rows": [["张三", "330122195603121234", "13812345678"]],
                     "masked": [1, 2]}),
        now,
    )
    # The chosen columns are masked when saved; the others are left to the pre-publish scanner.
    assert t.latest_version.table["rows"] == [["张三", "330***********1234", "138****5678"]]


def test_content_hash_is_stable_and_sensitive():
    assert content_hash({"a": 1, "b": "公开"}) == content_hash({"b": "公开", "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_nobody_who_rewrote_the_text_may_approve_it(session, make_world, now):
    """Defect: approval compared the reviewer with the first author only."""
    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    # The township admin (editor and reviewer rights) rewrites the colleague's draft ...
    disclosures.update_draft(session, w.admin, d.id, draft(w, body="改过的正文"), now)
    disclosures.submit(session, w.admin, d.id, now)
    # ... and may not approve the text they wrote, although the first author is someone else.
    with pytest.raises(Forbidden, match="不能审核它"):
        disclosures.approve(session, w.admin, d.id, now)
    assert d.status is DisclosureStatus.submitted and d.reviews == []

    disclosures.approve(session, w.reviewer, d.id, now)
    (review,) = d.reviews
    assert {a.username for a in review.authors} == {"editor", "admin"}


def test_an_earlier_author_may_not_approve_a_later_version_either(session, make_world, now):
    w = make_world(session)
    d = disclosures.create_draft(session, w.admin, draft(w), now)
    disclosures.update_draft(session, w.editor, d.id, draft(w, title="改过的标题"), now)
    disclosures.submit(session, w.editor, d.id, now)
    with pytest.raises(Forbidden):
        disclosures.approve(session, w.admin, d.id, now)


def test_every_review_and_edit_is_in_the_audit_log(session, make_world, now):
    from sqlalchemy import select

    from server.models import AuditEvent

    w = make_world(session)
    d = disclosures.create_draft(session, w.editor, draft(w), now)
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.reject(session, w.reviewer, d.id, now, "表格缺合计")
    disclosures.update_draft(session, w.editor, d.id, draft(w, body="补上合计"), now)
    disclosures.submit(session, w.editor, d.id, now)
    disclosures.approve(session, w.reviewer, d.id, now)
    rows = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "disclosure", AuditEvent.target_id == str(d.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [r.action for r in rows] == [
        "disclosure.create", "disclosure.submit", "disclosure.reject",
        "disclosure.edit", "disclosure.submit", "disclosure.approve",
    ]
    assert rows[-1].username == "reviewer" and rows[-1].area_path == w.village_a.path
    assert rows[-1].before_digest != rows[-1].after_digest


def test_a_retired_area_takes_no_new_content(session, make_world, now):
    w = make_world(session)
    w.village_b.retired_at = now
    with pytest.raises(ValidationFailed) as err:
        disclosures.create_draft(session, w.editor, draft(w, area=w.village_b), now)
    assert err.value.field == "area_id"
