"""Read-aloud audio, made offline on the server: engine, files and the desk that makes them.

`Voice` runs espeak-ng's Mandarin voice (Debian's `espeak-ng`) and encodes Ogg Vorbis with
sox (Debian's `sox`); neither needs a network or a model download. `AudioStore` keeps the
files under `<data dir>/audio/`, named by their sha256, so screens cache them forever.
`SpeechDesk` makes the audio for boards that have none, in the background after a commit
changed what screens show, then bumps the loop so the screens learn of it: an approval is
on screen at once and its audio follows seconds later. Without the engine, boards simply
carry no audio.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from server.blobs import BlobStore
from server.clock import now
from server.domain import changes, manifests
from server.extensions import session_scope
from server.models import Area, SpokenBoard

SPEED = 150  # words per minute: espeak-ng's default is 175; slower for older listeners
TIMEOUT = 120  # seconds for one board (a long table takes a few)


class Voice:
    """espeak-ng, Mandarin, to Ogg Vorbis."""

    def __init__(self, espeak: str, sox: str, version: str, speed: int = SPEED) -> None:
        self.espeak, self.sox, self.speed = espeak, sox, speed
        self.id = f"espeak-ng {version} cmn {speed} wpm, ogg vorbis"

    @classmethod
    def find(cls) -> Voice | None:
        espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
        if espeak is None or sox is None:
            return None
        try:
            out = subprocess.run([espeak, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        parts = out.split()
        version = parts[parts.index("text-to-speech:") + 1] if "text-to-speech:" in parts else out.strip()[:40]
        return cls(espeak, sox, version)

    def say(self, text: str) -> tuple[bytes, float]:
        """(Ogg Vorbis bytes, seconds) of `text` read aloud."""
        with tempfile.TemporaryDirectory(prefix="sunwall-voice-") as tmp:
            raw, encoded = Path(tmp) / "board.wav", Path(tmp) / "board.ogg"
            subprocess.run(
                [self.espeak, "-v", "cmn", "-s", str(self.speed), "-b", "1", "--stdin", "-w", str(raw)],
                input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT, check=True,
            )
            with wave.open(str(raw)) as w:
                seconds = w.getnframes() / float(w.getframerate())
            subprocess.run(
                [self.sox, str(raw), "-C", "3", str(encoded)], capture_output=True, timeout=TIMEOUT, check=True
            )
            return encoded.read_bytes(), round(seconds, 2)


class AudioStore(BlobStore):
    """Read-aloud audio: `<data dir>/audio/<sha256>.ogg` (a blob store of its own)."""

    SUFFIX = ".ogg"

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> AudioStore:
        return cls(Path(config["DATA_DIR"]) / "audio")


class SpeechDesk:
    """Makes the audio that boards lack, one area at a time, off the request path."""

    def __init__(self, app: Flask, voice: Voice, store: AudioStore, spawn: Callable[[Callable[[], None]], Any]) -> None:
        self.app, self.voice, self.store = app, voice, store
        self._spawn = spawn
        self._waiting: queue.Queue[str] = queue.Queue()
        self._queued: set[str] = set()
        self._failed: set[str] = set()  # scripts the engine could not read: not retried
        self._lock = threading.Lock()
        self._running = False

    def area_changed(self, area_path: str) -> None:
        """After a commit: look at this area's boards (and, for echo walls, its ancestors')."""
        with self._lock:
            if area_path in self._queued:
                return
            self._queued.add(area_path)
            self._waiting.put(area_path)
            if self._running:
                return
            self._running = True
        self._spawn(self._work)

    def sweep(self) -> None:
        """At start: every area, so boards approved while the engine was missing (or before
        an upgrade of it) get their audio."""
        with self.app.app_context(), session_scope() as session:
            paths = list(session.scalars(select(Area.path).where(Area.retired_at.is_(None))))
        for path in paths:
            self.area_changed(path)

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._waiting.empty():
                    self._running = False
                    return
                path = self._waiting.get()
                self._queued.discard(path)
            try:
                with self.app.app_context():
                    self.speak_area(path)
            except Exception:  # the desk must outlive one bad board; the next change retries
                self.app.logger.exception("read-aloud for area %s failed", path)

    def speak_area(self, area_path: str) -> int:
        """Make every missing audio of the boards screens in this area and above show; bump
        the loops that gained audio. Returns how many audio files were made.

        Reads, then synthesises with no transaction open (the engine takes a while and
        SQLite has one writer), then writes the rows and bumps in one short transaction."""
        area_ids = [int(p) for p in area_path.strip("/").split("/") if p]
        settings = manifests.Settings.from_config(current_app.config)
        with session_scope() as session:
            wanted: dict[str, tuple[str, int]] = {}
            for area in session.scalars(select(Area).where(Area.id.in_(area_ids))):
                for internal in (False, True):
                    loop = manifests.area_loop(session, area, internal, now(), settings)
                    for sha, found in manifests.unspoken(loop).items():
                        wanted.setdefault(sha, found)
            known = set(session.scalars(select(SpokenBoard.script_sha).where(SpokenBoard.script_sha.in_(wanted))))
        made: list[tuple[str, str, float, int]] = []
        for sha, (text, home) in wanted.items():
            if sha in known or sha in self._failed:
                continue
            try:
                data, seconds = self.voice.say(text)
            except (OSError, subprocess.SubprocessError, wave.Error):
                current_app.logger.exception("the speech engine could not read a board of area %s", home)
                self._failed.add(sha)
                continue
            made.append((sha, self.store.put(data), seconds, home))
        if not made:
            return 0
        with session_scope(write=True) as session:
            for sha, audio_sha, seconds, _ in made:
                if session.get(SpokenBoard, sha) is None:  # another process may have been quicker
                    session.add(SpokenBoard(script_sha=sha, audio_sha=audio_sha, seconds=seconds, created_at=now()))
            session.flush()
            for area_id in sorted({home for *_, home in made}):
                changes.loop_changed(session, session.get_one(Area, area_id), now())
        return len(made)


def sweep(app: Flask) -> None:
    """Start making the audio that is missing, when the app has a speech desk."""
    desk = app.extensions.get("sunwall.speech")
    if desk is not None:
        desk.sweep()


def install(app: Flask, spawn: Callable[[Callable[[], None]], Any]) -> SpeechDesk | None:
    """The app's speech desk, when read-aloud is on and an engine is installed."""
    if app.config["READ_ALOUD"] == "off":
        return None
    voice = Voice.find()
    if voice is None:
        app.logger.warning("read-aloud is off: espeak-ng and sox are not installed")
        return None
    desk = SpeechDesk(app, voice, AudioStore.of(app.config), spawn)
    app.extensions["sunwall.speech"] = desk
    app.config["VOICE_ID"] = voice.id
    return desk
