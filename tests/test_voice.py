"""Read-aloud: the offline engine, audio made in the background, served only to its screens."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import voice
from server.domain import speech
from server.extensions import session_scope
from server.models import SpokenBoard
from tests.test_public import published  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def engine() -> voice.Voice:
    found = voice.Voice.find()
    if found is None:
        pytest.fail("espeak-ng and sox are needed (./dev test installs them)")
    return found


def sox_seconds(path: Path) -> float:
    return float(subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True, check=True).stdout)


def test_the_engine_reads_a_script_into_ogg_whose_length_sox_confirms(engine, tmp_path):
    text = speech.script("notice", {
        "title": "关于2026年11月低保金发放的公示", "category": "服务群众", "area": "东山村", "timezone": "Asia/Shanghai",
        "valid_from": "2026-11-20T00:00:00+08:00", "valid_to": None,
        "body_html": "<p>咨询电话138****5678，发放金额合计12,800元。</p>",
    })
    data, seconds = engine.say(text)
    assert data[:4] == b"OggS"
    path = tmp_path / "board.ogg"
    path.write_bytes(data)
    measured = sox_seconds(path)
    assert abs(measured - seconds) < 0.2, (measured, seconds)
    # About 4–6 characters a second at a listener's pace: far from nothing, far from a minute.
    assert len(text) / 8 < measured < len(text) / 2, (len(text), measured)


def test_boards_get_audio_in_the_background_and_each_screen_fetches_only_its_own(app, client, world, bearer, published, engine):  # noqa: F811
    from server.clock import FixedClock

    app.extensions["sunwall.clock"] = FixedClock(dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC))

    def screen(device):
        code = client.post(f"/api/v1/devices/{device.id}/enrolment-codes", headers=bearer("admin")).get_json()["code"]
        return {"Authorization": "Bearer " + client.post("/api/v1/device/enrol", json={"code": code}).get_json()["token"]}

    public, party = screen(world.screen_a), screen(world.screen_a_internal)
    # The voice is on, but nothing has been read yet: boards carry no audio.
    store = voice.AudioStore(Path(app.config["DATA_DIR"]) / "audio")
    desk = voice.SpeechDesk(app, engine, store, spawn=lambda work: work())  # in the foreground, for the test
    app.extensions["sunwall.speech"] = desk
    app.config["VOICE_ID"] = engine.id
    before = client.get("/api/v1/device/manifest", headers=public)
    assert all(b["audio"] is None for b in before.get_json()["boards"])

    desk.sweep()
    with app.app_context(), session_scope() as s:
        made = s.scalar(select(func.count()).select_from(SpokenBoard))
    assert made >= 3  # the public notice, the internal one, the echo walls

    # The screen's manifest changed (the desk bumped the loop) and now lists the audio.
    after = client.get("/api/v1/device/manifest", headers={**public, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    boards = {b["title"]: b for b in after.get_json()["boards"]}
    audio = boards["甲村十月财务公开"]["audio"]
    assert audio is not None and audio["href"] == f"/api/v1/device/audio/{audio['content']}" and audio["seconds"] > 1
    got = client.get(audio["href"], headers=public)
    assert got.status_code == 200 and got.mimetype == "audio/ogg"
    assert hashlib.sha256(got.data).hexdigest() == audio["content"]
    assert got.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    got.close()

    # An internal board's audio reaches the party room only.
    party_boards = {b["title"]: b for b in client.get("/api/v1/device/manifest", headers=party).get_json()["boards"]}
    secret = party_boards["预备党员转正公示"]["audio"]
    assert secret is not None and "预备党员转正公示" not in boards
    assert client.get(secret["href"], headers=party).status_code == 200
    refused = client.get(secret["href"], headers=public)
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    assert client.get(secret["href"]).status_code == 401

    # Nothing is made twice.
    with app.app_context():
        assert desk.speak_area(world.village_a.path) == 0
