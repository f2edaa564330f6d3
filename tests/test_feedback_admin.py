"""The handler's side of feedback over HTTP: who sees a reporter, what the answer form offers."""

from __future__ import annotations

import datetime as dt
import re

from server.domain import feedback
from server.extensions import session_scope
from server.models import Area, Device

NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)


def named(app, world, *, device_id: int | None = None, kind: str = "question") -> int:
    with app.app_context(), session_scope() as s:
        data = feedback.FeedbackInput(kind=kind, body="救助名单漏了我家", anonymous=False, name="赵六", phone="13700002222")
        device = s.get(Device, device_id) if device_id else None
        return feedback.submit(s, data, area=s.get_one(Area, world.village_a.id), disclosure=None, device=device, now=NOW).id


def test_a_village_editor_never_reads_a_reporters_name_or_phone(app, client, world, bearer):
    fid = named(app, world)
    as_editor = client.get("/api/v1/feedback", headers=bearer("editor_a")).get_json()["items"]
    assert [(f["id"], f["author_name"], f["author_phone"]) for f in as_editor] == [(fid, "", "")]
    one = client.get(f"/api/v1/feedback/{fid}", headers=bearer("editor_a")).get_json()
    assert "赵六" not in str(one) and "13700002222" not in str(one)
    as_handler = client.get(f"/api/v1/feedback/{fid}", headers=bearer("handler")).get_json()
    assert (as_handler["author_name"], as_handler["author_phone"]) == ("赵六", "13700002222")


def test_the_inbox_page_hides_contact_from_editors(app, client, world, login):
    fid = named(app, world)
    login("editor_a")
    page = client.get(f"/admin/feedback/{fid}").get_data(as_text=True)
    assert "赵六" not in page and "13700002222" not in page
    assert "仅承办人和监督员可见" in page


def test_the_answer_form_does_not_pretick_the_echo_wall_for_internal_feedback(app, client, world, login):
    public_id = named(app, world, device_id=world.screen_a.id)
    internal_id = named(app, world, device_id=world.screen_a_internal.id)
    login("handler")
    public_form = client.get(f"/admin/feedback/{public_id}").get_data(as_text=True)
    internal_form = client.get(f"/admin/feedback/{internal_id}").get_data(as_text=True)
    def ticked(page: str) -> bool:
        box = re.search(r'<input[^>]*name="public"[^>]*>', page)
        assert box, "no echo-wall checkbox"
        return "checked" in box.group(0)

    assert ticked(public_form) and not ticked(internal_form)
    assert "只在党员活动室屏幕的回音壁显示" in internal_form
