"""Checks a Sunwall disclosure archive (公开档案) using nothing but the Python standard library.

One module, two uses: `sunwall archive verify` imports it to check the database, and every
ZIP export carries this very file as `verify.py`, so an inspector checks the export offline
with the same code (`python3 verify.py` inside the unzipped folder, or
`python3 verify.py archive.zip`). Keep it free of third-party imports and of `server`.

The recipe (docs/archive.md):
- payload: canonical JSON (sorted keys, separators "," and ":", non-ASCII kept), UTF-8;
  payload_hash = sha256 of it, in lowercase hex;
- entry_hash = sha256 of the UTF-8 lines, joined by "\\n":
  "sunwall-archive-v1", area id, seq, kind, disclosure id, recorded_at (UTC,
  "YYYY-MM-DDTHH:MM:SS.ffffffZ"), payload_hash, prev_hash;
- prev_hash of an area's first entry (seq 1) is 64 zeros; of every other entry, the
  entry_hash of the entry before it; seq counts 1, 2, 3, ... per area without gaps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

RECIPE = "sunwall-archive-v1"
EXPORT_FORMAT = "sunwall-archive-export/1"
GENESIS = "0" * 64
INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# What went wrong, as an inspector reads it.
WHAT = {
    "payload_edited": "内容被改过",
    "fields_edited": "条目字段被改过",
    "reordered": "顺序被调换",
    "deleted": "条目被删除",
    "broken_link": "链接断开",
    "unanchored": "审计日志无记录",
    "replaced": "与审计日志不符",
    "missing_payload": "缺少档案内容",
    "file_mismatch": "文件被改过",
    "file_missing": "缺少文件",
    "bad_export": "导出包不完整",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one entry (or one file of an export)."""

    area_id: int
    seq: int | None  # the entry's place in its area's chain; None: not about one entry
    entry_id: int | None  # its row id in the database, when known
    what: str  # a key of WHAT
    detail: str

    def line(self) -> str:
        where = f"区域 {self.area_id}" if self.area_id else "导出包"
        if self.seq is not None:
            where += f" 第 {self.seq} 条"
        if self.entry_id is not None:
            where += f"（记录号 {self.entry_id}）"
        return f"{where}：{WHAT.get(self.what, self.what)}：{self.detail}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload_hash(payload: str) -> str:
    return sha256_hex(payload.encode("utf-8"))


def instant(moment: dt.datetime) -> str:
    """A moment as the recipe writes it: UTC, microseconds, a trailing Z."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(dt.timezone.utc).strftime(INSTANT_FORMAT)  # noqa: UP017 (Python 3.8+ runs this)


def entry_hash(
    area_id: int, seq: int, kind: str, disclosure_id: int, recorded_at: str, payload_sha: str, prev_hash: str
) -> str:
    lines = [RECIPE, str(area_id), str(seq), kind, str(disclosure_id), recorded_at, payload_sha, prev_hash]
    return sha256_hex("\n".join(lines).encode("utf-8"))


def _hash_of(area_id: int, row: dict[str, Any], **changed: Any) -> str:
    """The entry hash of `row` as its fields stand (or with some of them `changed`)."""
    r = {**row, **changed}
    return entry_hash(area_id, r["seq"], r["kind"], r["disclosure_id"], r["recorded_at"], r["payload_hash"],
                      r["prev_hash"])


def _culprits(area_id: int, row: dict[str, Any], candidates: dict[str, Any]) -> list[str]:
    """The one field whose original value (a candidate) makes the entry hash match again."""
    return [
        name for name, value in candidates.items()
        if value is not None and value != row[name] and _hash_of(area_id, row, **{name: value}) == row["entry_hash"]
    ]


def _fields_against_payload(area_id: int, row: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    """The entry's own fields that disagree with what its payload says about it."""
    said = {
        "area_id": (payload.get("area") or {}).get("id"),
        "kind": payload.get("kind"),
        "disclosure_id": (payload.get("disclosure") or {}).get("id"),
        "recorded_at": payload.get("recorded_at"),
    }
    actual = {"area_id": area_id, "kind": row["kind"], "disclosure_id": row["disclosure_id"],
              "recorded_at": row["recorded_at"]}
    if "version_id" in row:
        said["version_id"] = (payload.get("version") or {}).get("id")
        actual["version_id"] = row["version_id"]
    return [name for name in actual if said[name] != actual[name]]


def check_chain(
    area_id: int, rows: Iterable[dict[str, Any]], anchors: Iterable[tuple[int, str]] | None = None
) -> list[Problem]:
    """Problems of one area's chain. `rows` are its entries (seq, kind, disclosure_id,
    recorded_at, payload_hash, prev_hash, entry_hash; optionally id, version_id and the
    payload text); `anchors` the (seq, entry_hash) pairs kept elsewhere (the audit log),
    which reveal deleted last entries and rewritten chains; None when none were kept."""
    ordered = sorted(rows, key=lambda r: r["seq"])
    problems: list[Problem] = []
    flagged: set[int] = set()  # seqs that have a problem of their own
    top = max((r["seq"] for r in ordered), default=0)

    def report(row: dict[str, Any] | None, seq: int | None, what: str, detail: str) -> None:
        problems.append(Problem(area_id, seq, row.get("id") if row else None, what, detail))
        if seq is not None:
            flagged.add(seq)

    by_seq = {r["seq"]: r for r in ordered}
    for row in ordered:
        seq = row["seq"]
        text = row.get("payload")
        said: dict[str, Any] = {}
        changed: list[str] = []
        payload_ok = text is None or payload_hash(text) == row["payload_hash"]
        if text is not None and payload_ok:
            try:
                payload = json.loads(text)
                changed = _fields_against_payload(area_id, row, payload)
                said = {"kind": payload.get("kind"), "recorded_at": payload.get("recorded_at"),
                        "disclosure_id": (payload.get("disclosure") or {}).get("id")}
            except (ValueError, AttributeError):
                changed = ["payload"]
        if _hash_of(area_id, row) == row["entry_hash"]:
            if not payload_ok:
                report(row, seq, "payload_edited", "档案内容与登记的摘要不符")
        else:
            moved = next(
                (s for s in range(1, top + 2) if s != seq and _hash_of(area_id, row, seq=s) == row["entry_hash"]), None
            )
            if moved is not None:
                report(row, seq, "reordered", f"这条原是第 {moved} 条，现在排在第 {seq} 条")
                continue
            before = by_seq.get(seq - 1)
            candidates = {
                **said,
                "prev_hash": before["entry_hash"] if before else (GENESIS if seq == 1 else None),
                "payload_hash": payload_hash(text) if text is not None else None,
            }
            culprits = _culprits(area_id, row, candidates)
            if not payload_ok and "payload_hash" not in culprits:
                report(row, seq, "payload_edited", "档案内容与登记的摘要不符")
            changed = sorted(set(changed) | set(culprits)) or [
                "seq/kind/disclosure_id/recorded_at/payload_hash/prev_hash/entry_hash 之一"
            ]
        if changed:
            report(row, seq, "fields_edited", f"{', '.join(changed)} 与原记录不符（条目摘要对不上）")

    missing: set[int] = set()
    previous: dict[str, Any] | None = None
    for row in ordered:
        seq = row["seq"]
        expected = previous["seq"] + 1 if previous else 1
        if seq > expected:
            missing.update(range(expected, seq))
            span = f"第 {expected} 条" if seq - expected == 1 else f"第 {expected}–{seq - 1} 条"
            report(None, expected, "deleted", f"{span}不见了，第 {seq} 条前面断开")
        elif seq not in flagged and (previous is None or previous["seq"] not in flagged):
            if row["prev_hash"] != (previous["entry_hash"] if previous else GENESIS):
                report(row, seq, "broken_link", "记下的前一条摘要与实际的前一条不符")
        previous = row

    if anchors is not None:
        kept: dict[int, set[str]] = {}
        for seq, digest in anchors:
            kept.setdefault(int(seq), set()).add(digest)
        for seq in sorted(kept):
            found = by_seq.get(seq)
            if len(kept[seq]) > 1:
                report(found, seq, "replaced", "审计日志对这一条记有不同的摘要：条目被删除后又写过")
            elif found is None:
                if seq not in missing:
                    report(None, seq, "deleted", "审计日志记有这一条，档案里没有（末尾的条目被删除）")
            elif seq not in flagged and found["entry_hash"] not in kept[seq]:
                report(found, seq, "replaced", "条目摘要与审计日志记下的不符（整条被替换或整链被重算）")
        for row in ordered:
            if row["seq"] not in kept and row["seq"] not in flagged:
                report(row, row["seq"], "unanchored", "审计日志里没有这一条：不是由系统记入的")
    return sorted(problems, key=lambda p: (p.seq or 0, p.what))


# --------------------------------------------------------------------------- exports


def _exported_rows(chain: dict[str, Any], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    texts = {e["seq"]: canonical_json(e["payload"]) for e in entries}
    rows = []
    for skeleton in chain["entries"]:
        row = dict(skeleton)
        if row["seq"] in texts:
            row["payload"] = texts[row["seq"]]
        rows.append(row)
    return rows


def check_export(read: Callable[[str], bytes | None]) -> tuple[list[Problem], list[str]]:
    """Problems of an exported archive and a summary; `read(name)` gives a file's bytes
    (None when it is not there)."""
    try:
        manifest = json.loads(read("manifest.json") or b"null")
        chain = json.loads(read("chain.json") or b"null")
        entries = json.loads(read("entries.json") or b"null")
    except ValueError as err:
        return [Problem(0, None, None, "bad_export", f"JSON 文件无法读取：{err}")], []
    if not (isinstance(manifest, dict) and isinstance(chain, dict) and isinstance(entries, list)):
        return [Problem(0, None, None, "bad_export", "缺少 manifest.json、chain.json 或 entries.json")], []
    if manifest.get("format") != EXPORT_FORMAT:
        return [Problem(0, None, None, "bad_export", f"不认识的格式 {manifest.get('format')!r}")], []
    area_id = int(chain["area_id"])
    anchors = chain.get("anchors")
    pairs = [(a["seq"], a["entry_hash"]) for a in anchors] if anchors is not None else None
    problems = check_chain(area_id, _exported_rows(chain, entries), pairs)

    by_seq = {r["seq"]: r for r in chain["entries"]}
    listed = {e["seq"] for e in entries}
    for e in entries:
        row = by_seq.get(e["seq"])
        if row is None or row["entry_hash"] != e.get("entry_hash"):
            problems.append(Problem(area_id, e["seq"], e.get("id"), "bad_export", "entries.json 里的这一条不在链上"))
    start, end = manifest["range"]["start"], manifest["range"]["end"]
    in_range = [r for r in chain["entries"] if start <= r["recorded_at"] < end]
    for row in in_range:
        if row["seq"] not in listed:
            problems.append(Problem(area_id, row["seq"], row.get("id"), "missing_payload",
                                    "这一条在导出的日期范围内，entries.json 里却没有"))
    boards = {f["seq"] for f in manifest.get("files", [])}
    for row in in_range:
        if row["kind"] == "approved" and row["seq"] not in boards:
            problems.append(Problem(area_id, row["seq"], row.get("id"), "file_missing", "缺少这一条的公开栏 PDF"))
    for f in manifest.get("files", []):
        data = read(f["path"])
        row = by_seq.get(f["seq"])
        if data is None:
            problems.append(Problem(area_id, f["seq"], None, "file_missing", f"缺少文件 {f['path']}"))
        elif sha256_hex(data) != f["sha256"]:
            problems.append(Problem(area_id, f["seq"], None, "file_mismatch", f"{f['path']} 的 sha256 与清单不符"))
        elif row is None or row["entry_hash"] != f.get("entry_hash"):
            problems.append(Problem(area_id, f["seq"], None, "bad_export", f"{f['path']} 对应的条目不在链上"))
    head = chain["entries"][-1]["entry_hash"] if chain["entries"] else GENESIS
    summary = [
        f"区域：{manifest['area']['name']}（{area_id}），{manifest['from']} 至 {manifest['to']}",
        f"链上第 1–{len(chain['entries'])} 条，其中本期 {len(entries)} 条，公开栏 PDF {len(boards)} 份",
        f"末条摘要：{head}",
    ]
    return problems, summary


def _reader(source: str) -> Callable[[str], bytes | None]:
    """A reader of the export in `source`: a ZIP file or an unzipped folder."""
    if os.path.isfile(source) and zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        names = archive.namelist()
        found = next((n for n in names if n == "manifest.json" or n.endswith("/manifest.json")), "manifest.json")
        prefix = found[: -len("manifest.json")]

        def from_zip(name: str) -> bytes | None:
            try:
                return archive.read(prefix + name)
            except KeyError:
                return None

        return from_zip

    def from_folder(name: str) -> bytes | None:
        path = os.path.join(source, *name.split("/"))
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as handle:
            return handle.read()

    return from_folder


def main(argv: list[str] | None = None) -> int:
    """`python3 verify.py [archive.zip | folder]`: exit 0 when the export is intact."""
    args = sys.argv[1:] if argv is None else argv
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    if args:
        source = args[0]
    elif os.path.isfile("manifest.json"):
        source = "."
    else:
        source = os.path.dirname(os.path.abspath(__file__))
    if not os.path.exists(source):
        print(f"找不到 {source}")
        return 2
    try:
        problems, summary = check_export(_reader(source))
    except (KeyError, TypeError, ValueError, AttributeError, zipfile.BadZipFile) as err:
        problems = [Problem(0, None, None, "bad_export", f"导出包的格式不对（{type(err).__name__}: {err}）")]
        summary = []
    for line in summary:
        print(line)
    if problems:
        print(f"校验未通过：发现 {len(problems)} 处问题")
        for problem in problems:
            print(problem.line())
        return 1
    print("校验通过：每条内容的摘要、链上的每一环、每份 PDF 都与记录相符。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
