"""A real Sunwall server in a child process, seeded with the demo township."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, async_mode: str | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SUNWALL_DATA_DIR": str(data_dir),
            "SUNWALL_PUBLIC_URL": self.url,
            "PYTHONUNBUFFERED": "1",
            # Reading boards aloud changes manifests in the background; tests about it ask for it.
            "SUNWALL_READ_ALOUD": "off",
            **(env or {}),
        }
        if async_mode is not None:
            self.env["SUNWALL_ASYNC_MODE"] = async_mode
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"
        self._tokens: dict[str, str] = {}

    def cli(self, *args: str, input_text: str | None = None) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, input=input_text, timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"sunwall {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def seed_demo(self) -> None:
        self.cli("demo", "--no-serve", "--port", str(self.port))

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logfile = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=logfile, stderr=subprocess.STDOUT,
        )
        self._logfile = logfile
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log.read_text(errors="replace")[-3000:])
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self._logfile.close()

    def screens(self) -> list[dict[str, Any]]:
        return json.loads((self.data_dir / "demo-screens.json").read_text(encoding="utf-8"))["screens"]

    def screen(self, village: str, name: str) -> dict[str, Any]:
        return next(s for s in self.screens() if s["village"] == village and s["name"] == name)

    def token(self, username: str) -> str:
        """An API token for `username`, issued once per server by the real CLI."""
        if username not in self._tokens:
            self._tokens[username] = self.cli("user", "token", username).strip()
        return self._tokens[username]

    def api(self, username: str) -> requests.Session:
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + self.token(username)
        return s

    def publish(
        self,
        village: str,
        title: str,
        body: str = "正文",
        *,
        item: str = "村级重大事项决策结果",
        valid_from: dt.datetime | None = None,
        **fields: Any,
    ) -> int:
        """Draft, submit and approve a disclosure of catalogue `item` in `village` through
        the API, as the demo's editor and reviewer; its id. `fields` go into the draft."""
        editor, reviewer = self.api("editor"), self.api("reviewer")
        try:
            areas = editor.get(f"{self.url}/api/v1/areas", timeout=10).json()["items"]
            area = next(a for a in areas if a["name"] == village)
            catalogue = editor.get(f"{self.url}/api/v1/catalogue", timeout=10).json()["categories"]
            found = next(i for c in catalogue for i in c["items"] if i["title"] == item)
            start = valid_from or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            created = editor.post(f"{self.url}/api/v1/disclosures", timeout=10, json={
                "area_id": area["id"], "catalogue_item_id": found["id"], "title": title, "body": body,
                "valid_from": start.isoformat(), **fields,
            })
            assert created.status_code == 201, created.text
            url = f"{self.url}/api/v1/disclosures/{created.json()['id']}"
            assert editor.post(f"{url}/submit", timeout=10).status_code == 200
            approved = reviewer.post(f"{url}/approve", json={}, timeout=10)
            assert approved.status_code == 200, approved.text
            return int(created.json()["id"])
        finally:
            editor.close()
            reviewer.close()

    def wait_until_spoken(self, village: str, screen: str = "大厅信息屏", timeout: float = 60) -> None:
        """Wait until every board of a screen's manifest has its read-aloud audio (the server
        makes it in the background after it starts and after each change)."""
        key = self.screen(village, screen)["key"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = requests.get(f"{self.url}/api/v1/device/manifest", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
            if all(b["audio"] for b in body["boards"]):
                return
            time.sleep(0.2)
        raise AssertionError(f"no read-aloud audio for every board of {village} {screen} after {timeout}s")

    def area_id(self, name: str) -> int:
        areas = self.api("editor").get(f"{self.url}/api/v1/areas", timeout=10).json()["items"]
        return int(next(a["id"] for a in areas if a["name"] == name))

    def draft_urgent(self, title: str, village: str = "东山村", **fields: Any) -> dict[str, Any]:
        """An urgent notice drafted by the demo's editor for the township, sent to
        `village`'s subtree for three hours unless `fields` say otherwise; its JSON."""
        body = {
            "area_id": self.area_id("清河镇"), "title": title, "body": "今晚有特大暴雨，请勿前往河道。",
            "target_kind": "area", "target_id": self.area_id(village),
            "ends_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat(),
            **fields,
        }
        made = self.api("editor").post(f"{self.url}/api/v1/urgent-notices", json=body, timeout=10)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def send_urgent(self, title: str, village: str = "东山村", **fields: Any) -> dict[str, Any]:
        """`draft_urgent`, then submitted by the editor and approved by the reviewer."""
        notice = self.draft_urgent(title, village, **fields)
        url = f"{self.url}/api/v1/urgent-notices/{notice['id']}"
        submitted = self.api("editor").post(f"{url}/submit", timeout=10)
        assert submitted.status_code == 200, submitted.text
        approved = self.api("reviewer").post(
            f"{url}/approve", json={"expected_hash": submitted.json()["content_hash"]}, timeout=10
        )
        assert approved.status_code == 200, approved.text
        return dict(approved.json())

    def cancel_schedules(self) -> None:
        """Cancel the demo's schedule entries, so its screens play their default loops at
        any hour (the demo's evening playlist would take over 18:00–21:30, whenever a test
        happens to run). Tests of scheduling seed their own server."""
        scheduler = self.api("scheduler")
        try:
            entries = scheduler.get(f"{self.url}/api/v1/schedule-entries", timeout=10).json()["items"]
            for entry in entries:
                done = scheduler.post(f"{self.url}/api/v1/schedule-entries/{entry['id']}/cancel", timeout=10)
                assert done.status_code == 200, done.text
        finally:
            scheduler.close()


@contextmanager
def demo_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """The demo township served from `data_dir` for the block, playing its default loops
    (the demo's schedule entries cancelled: what plays must not depend on the hour)."""
    server = LiveServer(data_dir, env=env)
    server.seed_demo()
    server.start()
    try:
        server.cancel_schedules()
        yield server
    finally:
        server.stop()
