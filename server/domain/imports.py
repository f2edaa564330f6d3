"""Bulk set-up of a township from a spreadsheet: its area tree, halls and users.

An XLSX workbook with the sheets 区域 / 场所 / 用户 (or one CSV file per sheet) is read
into plain rows (`read_upload`), checked against a snapshot of what already exists
(`check`, a pure function that lists every bad row with its sheet, row number and the
reason in Chinese), and applied all or nothing (`apply`, which checks again against the
database inside the caller's transaction). Between preview and apply the file waits in
the data directory under a random id, tied to the uploader (`stash` / `unstash`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import access, audit, users
from server.domain.areas import (
    clean_code,
    clean_name,
    clean_site,
    create_area,
    create_site,
    kind_problem,
)
from server.domain.errors import DomainError, NotFound, ValidationFailed
from server.models import Area, AreaKind, Role, Site, User

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# A zip bomb stays small on disk; refuse what would unpack into more than this.
MAX_UNPACKED = 20 * 1024 * 1024
STASH_TTL = dt.timedelta(hours=2)

SHEETS = {"areas": "区域", "sites": "场所", "users": "用户"}
COLUMNS = {
    "areas": ["名称", "类型", "上级", "代码"],
    "sites": ["名称", "所属区域", "地址", "联系人", "联系电话"],
    "users": ["用户名", "姓名", "初始密码", "角色", "区域"],
}
REQUIRED = {
    "areas": ["名称", "类型", "上级"],
    "sites": ["名称", "所属区域"],
    "users": ["用户名", "初始密码", "角色", "区域"],
}
EXAMPLES = {
    "areas": ["#东山村", "村", "清河镇", "330122101201"],
    "sites": ["#东山村党群服务中心", "东山村", "清河镇东山村村委会一楼", "张国华", "0571-88881234"],
    "users": ["#dongshan_editor", "李秀兰", "Dongshan-2026", "经办人", "东山村"],
}
HINTS = {
    "类型": "县、乡镇、街道、村、社区、部门 或 企业党组织",
    "上级": "已有区域或本表前面行里的区域：名称，重名时填代码",
    "代码": "可不填；统计用区划代码或本镇编号",
    "所属区域": "区域名称（重名时填代码）",
    "初始密码": "至少 8 位，不能太简单；首次登录必须修改",
    "角色": "管理员、经办人、审核人、排期管理员、承办人、监督员；多个用“、”分开",
}
KIND_WORDS = {
    AreaKind.county: ("县", "市", "区", "县（市、区）", "county"),
    AreaKind.township: ("乡", "镇", "乡镇", "街道", "乡镇（街道）", "township"),
    AreaKind.village: ("村", "行政村", "village"),
    AreaKind.community: ("社区", "community"),
    AreaKind.department: ("部门", "单位", "department"),
    AreaKind.enterprise: ("企业", "企业党组织", "enterprise"),
}
KIND_BY_WORD = {word: kind for kind, words in KIND_WORDS.items() for word in words}
ROLE_BY_WORD = {
    **{label: role for role, label in access.ROLE_LABELS.items()},
    **{role.value: role for role in Role},
    "排期员": Role.scheduler,
}
ROLE_SPLIT = re.compile(r"[、,，;；/\s]+")
STASH_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


# -- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason the file cannot be imported; row 0 means the whole file or sheet."""

    sheet: str
    row: int
    message: str


@dataclass(frozen=True)
class Row:
    number: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


@dataclass
class Upload:
    rows: dict[str, list[Row]] = field(default_factory=lambda: {kind: [] for kind in SHEETS})
    problems: list[Problem] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def cell_text(value: Any) -> str:
    """A spreadsheet cell as text: whole numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _header(cells: list[str], kind: str, upload: Upload) -> dict[int, str] | None:
    names = {i: c.strip() for i, c in enumerate(cells) if c.strip() in COLUMNS[kind]}
    missing = [c for c in REQUIRED[kind] if c not in names.values()]
    if missing:
        upload.problems.append(Problem(SHEETS[kind], 1, f"第一行（表头）缺少“{'”“'.join(missing)}”列。"))
        return None
    return names


def _add_rows(kind: str, lines: Iterable[tuple[int, list[str]]], header: dict[int, str], upload: Upload) -> None:
    for number, cells in lines:
        if not any(cells) or cells[0].startswith("#"):
            continue  # blank lines, and the template's example row
        upload.rows[kind].append(Row(number, {header[i]: c for i, c in enumerate(cells) if i in header}))


def read_upload(filename: str, data: bytes) -> Upload:
    """Rows of an uploaded XLSX or CSV file, or the reasons it cannot be read."""
    upload = Upload()
    name = filename.lower()
    if len(data) > MAX_BYTES:
        upload.problems.append(Problem("", 0, f"文件太大（{len(data) / 1048576:.1f} MB），上限 {MAX_BYTES // 1048576} MB。"))
    elif data.startswith(b"PK\x03\x04"):
        _read_xlsx(data, upload)
    elif name.endswith((".xlsx", ".xlsm")):
        upload.problems.append(Problem("", 0, "文件不是真正的 XLSX 表格（可能只是改了扩展名），请用 Excel 或 WPS 另存为 .xlsx。"))
    elif name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
        upload.problems.append(Problem("", 0, "不支持旧版 .xls 文件，请另存为 .xlsx 后再上传。"))
    elif name.endswith((".csv", ".txt")):
        _read_csv(data, upload)
    else:
        upload.problems.append(Problem("", 0, "只能导入 .xlsx 或 .csv 文件。"))
    if not upload.problems and upload.count() > MAX_ROWS:
        upload.problems.append(Problem("", 0, f"行数太多（{upload.count()} 行），一次最多导入 {MAX_ROWS} 行，请分批导入。"))
    if not upload.problems and upload.count() == 0:
        upload.problems.append(Problem("", 0, "文件里没有要导入的行（以 # 开头的示例行不导入）。"))
    return upload


def _read_xlsx(data: bytes, upload: Upload) -> None:
    import openpyxl  # on use: slow to import, and only an admin's upload needs it

    not_xlsx = Problem("", 0, NOT_XLSX)
    problem = xlsx_problem(data)
    if problem is not None:
        upload.problems.append(Problem("", 0, problem))
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            book = openpyxl.load_workbook(io.BytesIO(data), data_only=False)
    except Exception:  # untrusted bytes: any failure to parse means "not a workbook"
        upload.problems.append(not_xlsx)
        return
    found = False
    for kind, title in SHEETS.items():
        if title not in book.sheetnames:
            continue
        found = True
        sheet = book[title]
        if sheet.max_row > MAX_ROWS * 2:  # plainly too big: do not even read it (counted exactly below)
            upload.problems.append(Problem(title, 0, f"行数太多（{sheet.max_row} 行），一次最多导入 {MAX_ROWS} 行，请分批导入。"))
            continue
        for merged in sheet.merged_cells.ranges:
            upload.problems.append(Problem(title, merged.min_row, f"有合并单元格 {merged.coord}，请取消合并后再导入。"))
        lines: list[tuple[int, list[str]]] = []
        for cells in sheet.iter_rows():
            for cell in cells:
                if cell.data_type == "f":
                    upload.problems.append(Problem(title, cell.row, f"单元格 {cell.coordinate} 是公式，请复制后“粘贴为数值”再导入。"))
            lines.append((cells[0].row, [cell_text(c.value) for c in cells]))
        if not lines:
            continue
        header = _header(lines[0][1], kind, upload)
        if header is not None:
            _add_rows(kind, lines[1:], header, upload)
    if not found:
        upload.problems.append(Problem("", 0, "找不到“区域”“场所”“用户”工作表，请用下载的模板填写。"))


NOT_XLSX = "文件不是有效的 XLSX 表格，请用 Excel 或 WPS 另存为 .xlsx。"


def xlsx_problem(data: bytes) -> str | None:
    """Why these bytes cannot be opened as an XLSX workbook (not a zip holding a workbook,
    or one that would unpack too big), or None. Checked before openpyxl sees them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                return NOT_XLSX
            if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
                return "文件解压后太大，请删去多余的内容后再导入。"
    except Exception:  # untrusted bytes: any failure to open means "not a workbook"
        return NOT_XLSX
    return None


def decode_text(data: bytes) -> str | None:
    """A text file's contents as Excel and WPS save them (UTF-8 with or without a byte-order
    mark, or GB18030/GBK), or None when it is neither (or binary)."""
    if b"\x00" in data:
        return None
    return _decode(data)


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv(data: bytes, upload: Upload) -> None:
    text = decode_text(data)
    if text is None:
        upload.problems.append(Problem("", 0, "无法识别文件编码：请把 CSV 保存为 UTF-8 或 GB18030（GBK）编码。"))
        return
    try:
        lines = [(n, [c.strip() for c in cells]) for n, cells in enumerate(csv.reader(io.StringIO(text)), start=1)]
    except csv.Error:
        upload.problems.append(Problem("", 0, "CSV 格式有误（引号不成对？），请用 Excel 或 WPS 另存为 CSV。"))
        return
    if not lines:
        return
    kind = next((k for k in SHEETS if set(REQUIRED[k]) <= {c.strip() for c in lines[0][1]}), None)
    if kind is None:
        expected = "；".join(f"{SHEETS[k]}：{'、'.join(COLUMNS[k])}" for k in SHEETS)
        upload.problems.append(Problem("", 1, f"无法识别表头。第一行应是模板的列名（{expected}）。"))
        return
    for number, cells in lines[1:]:
        for i, value in enumerate(cells):
            if value.startswith("="):
                upload.problems.append(Problem(SHEETS[kind], number, f"第 {i + 1} 列是公式（以 = 开头），请改成数值后再导入。"))
    header = _header(lines[0][1], kind, upload)
    if header is not None:
        _add_rows(kind, lines[1:], header, upload)


# -- templates -----------------------------------------------------------------------


def template_xlsx() -> bytes:
    """The workbook to fill in: one sheet per kind, a header row and an example row."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    for kind, title in SHEETS.items():
        sheet = book.create_sheet(title)
        sheet.append(COLUMNS[kind])
        sheet.append(EXAMPLES[kind])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            hint = HINTS.get(str(cell.value))
            note = "以 # 开头的行是示例，不会导入。" + (f"\n{hint}" if hint else "")
            cell.comment = Comment(note, "阳光公开屏")
            sheet.column_dimensions[cell.column_letter].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv(kind: str) -> bytes:
    """One CSV per kind, UTF-8 with a byte-order mark so that Excel shows the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS[kind])
    writer.writerow(EXAMPLES[kind])
    return out.getvalue().encode("utf-8-sig")


# -- checking ------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownArea:
    id: int
    name: str
    kind: AreaKind
    code: str | None
    parent_id: int | None
    path: str
    retired: bool


@dataclass
class Existing:
    """What the database holds, as far as checking an import needs to know."""

    areas: list[KnownArea]
    usernames: set[str]
    sites: set[tuple[int, str]]  # (area id, name) of halls in use
    admin_paths: list[str]


# An area is either in the database ("db", id) or defined by a row of the file ("row", n).
Ref = tuple[str, int]


@dataclass
class NewArea:
    row: int
    name: str
    kind: AreaKind
    code: str | None
    parent: Ref
    parent_name: str


@dataclass
class NewSite:
    row: int
    fields: dict[str, str]
    area: Ref
    area_name: str


@dataclass
class NewUser:
    row: int
    username: str
    display_name: str
    password: str = field(repr=False)
    roles: list[Role]
    area: Ref
    area_name: str


@dataclass
class Plan:
    areas: list[NewArea] = field(default_factory=list)
    sites: list[NewSite] = field(default_factory=list)
    users: list[NewUser] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"areas": len(self.areas), "sites": len(self.sites), "users": len(self.users)}


class _Refuse(Exception):
    """One row's problem, raised inside the checker and turned into a Problem."""


def _guard(value_check: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return value_check(*args, **kwargs)
    except DomainError as err:
        raise _Refuse(err.message) from None


class _Checker:
    def __init__(self, existing: Existing) -> None:
        self.existing = existing
        self.codes = {a.code: a for a in existing.areas if a.code}
        self.file_children: dict[tuple[Ref, str], int] = {}  # (parent, name) → row
        self.file_codes: dict[str, int] = {}
        self.children = {(a.parent_id, a.name) for a in existing.areas if not a.retired}
        self.failed: dict[str, int] = {}  # names and codes of area rows that have a problem
        # Areas by name and by code, so that 5000 rows against 5000 areas stay quick.
        self.in_db: dict[str, list[KnownArea]] = {}
        for area in existing.areas:
            for text in {area.name, area.code} - {None}:
                self.in_db.setdefault(str(text), []).append(area)
        self.in_file: dict[str, list[NewArea]] = {}

    def known(self, text: str) -> bool:
        return text in self.in_db or text in self.in_file

    def in_scope(self, area: KnownArea) -> bool:
        return any(area.path.startswith(p) for p in self.existing.admin_paths)

    def resolve(self, text: str, what: str) -> tuple[Ref, AreaKind, str]:
        """Find the area a cell names (code first, then name) in the file or the database."""
        if not text:
            raise _Refuse(f"请填写{what}。")
        in_file = self.in_file.get(text, [])
        in_db = [a for a in self.in_db.get(text, []) if a.code == text or not a.retired]
        retired = [a for a in self.in_db.get(text, []) if a.name == text and a.retired]
        usable = [a for a in in_db if self.in_scope(a)]
        if len(in_file) + len(usable) > 1:
            raise _Refuse(f"有多个名为“{text}”的区域，请在{what}一栏改填它的代码。")
        if in_file:
            return ("row", in_file[0].row), in_file[0].kind, in_file[0].name
        if usable:
            found = usable[0]
            if found.retired:
                raise _Refuse(f"{what}“{text}”已停用。")
            return ("db", found.id), found.kind, found.name
        if in_db:
            raise _Refuse(f"{what}“{text}”不在你的管辖范围内。")
        if text in self.failed:
            raise _Refuse(f"{what}“{text}”（区域表第 {self.failed[text]} 行）有错误，请先改正那一行。")
        if retired:
            raise _Refuse(f"{what}“{text}”已停用。")
        raise _Refuse(f"{what}“{text}”不存在，也不在本表前面的行里。")

    def area(self, row: Row, later_names: dict[str, int]) -> NewArea:
        name = _guard(clean_name, row.get("名称"))
        word = row.get("类型")
        kind = KIND_BY_WORD.get(word)
        if kind is None:
            raise _Refuse(f"类型“{word}”不认识，应为 县、乡镇、街道、村、社区、部门 或 企业党组织。" if word else "请填写类型。")
        parent_text = row.get("上级")
        later = later_names.get(parent_text, 0)
        if later > row.number and not self.known(parent_text):
            raise _Refuse(f"上级“{parent_text}”在第 {later} 行，请把它移到本行前面。")
        parent, parent_kind, parent_name = self.resolve(parent_text, "上级")
        problem = kind_problem(parent_kind, kind)
        if problem:
            raise _Refuse(problem)
        if parent[0] == "db" and (parent[1], name) in self.children:
            raise _Refuse(f"“{parent_name}”下已有名为“{name}”的区域。")
        twin = self.file_children.get((parent, name))
        if twin is not None:
            raise _Refuse(f"与第 {twin} 行重复：“{parent_name}”下已有“{name}”。")
        code = _guard(clean_code, row.get("代码"))
        if code and code in self.codes:
            raise _Refuse(f"代码 {code} 已被“{self.codes[code].name}”使用。")
        if code and code in self.file_codes:
            raise _Refuse(f"代码 {code} 与第 {self.file_codes[code]} 行重复。")
        new = NewArea(row.number, name, kind, code, parent, parent_name)
        self.file_children[(parent, name)] = row.number
        for text in filter(None, (name, code)):
            self.in_file.setdefault(text, []).append(new)
        if code:
            self.file_codes[code] = row.number
        return new


def check(upload: Upload, existing: Existing) -> Plan:
    """Every bad row with its reason, or — when there is none — what applying will create."""
    plan = Plan(problems=list(upload.problems))
    if upload.problems:
        return plan
    checker = _Checker(existing)
    sheet = SHEETS["areas"]
    later_names: dict[str, int] = {}  # where each name or code of the area sheet first appears
    for row in upload.rows["areas"]:
        for text in (row.get("名称"), row.get("代码")):
            if text:
                later_names.setdefault(text, row.number)
    for row in upload.rows["areas"]:
        try:
            plan.areas.append(checker.area(row, later_names))
        except _Refuse as why:
            plan.problems.append(Problem(sheet, row.number, str(why)))
            for text in filter(None, (row.get("名称"), row.get("代码"))):
                checker.failed.setdefault(text, row.number)
    _check_sites(upload, checker, plan)
    _check_users(upload, checker, plan)
    plan.problems.sort(key=lambda p: (list(SHEETS.values()).index(p.sheet) if p.sheet in SHEETS.values() else -1, p.row))
    return plan


def _check_sites(upload: Upload, checker: _Checker, plan: Plan) -> None:
    seen: dict[tuple[Ref, str], int] = {}
    for row in upload.rows["sites"]:
        try:
            fields = _guard(clean_site, row.get("名称"), row.get("地址"), row.get("联系人"), row.get("联系电话"))
            area, _kind, area_name = checker.resolve(row.get("所属区域"), "所属区域")
            if area[0] == "db" and (area[1], fields["name"]) in checker.existing.sites:
                raise _Refuse(f"“{area_name}”已有名为“{fields['name']}”的场所。")
            if (area, fields["name"]) in seen:
                raise _Refuse(f"与第 {seen[(area, fields['name'])]} 行重复：“{area_name}”的“{fields['name']}”。")
            seen[(area, fields["name"])] = row.number
            plan.sites.append(NewSite(row.number, fields, area, area_name))
        except _Refuse as why:
            plan.problems.append(Problem(SHEETS["sites"], row.number, str(why)))


def _roles(text: str) -> list[Role]:
    words = [w for w in ROLE_SPLIT.split(text) if w]
    if not words:
        raise _Refuse("请填写角色。")
    unknown = [w for w in words if w not in ROLE_BY_WORD]
    if unknown:
        raise _Refuse(f"角色“{'、'.join(unknown)}”不认识，应为 管理员、经办人、审核人、排期管理员、承办人 或 监督员。")
    return list(dict.fromkeys(ROLE_BY_WORD[w] for w in words))


def _check_users(upload: Upload, checker: _Checker, plan: Plan) -> None:
    seen: dict[str, int] = {}
    taken = {name.lower() for name in checker.existing.usernames}
    for row in upload.rows["users"]:
        try:
            username = row.get("用户名")
            if not users.USERNAME_RE.match(username):
                raise _Refuse(f"用户名“{username}”不合格：只能用 3–64 位字母、数字、点、下划线或连字符。")
            if username.lower() in taken:
                raise _Refuse(f"用户名“{username}”已存在。")
            if username.lower() in seen:
                raise _Refuse(f"用户名“{username}”与第 {seen[username.lower()]} 行重复。")
            seen[username.lower()] = row.number
            display_name = _guard(users.clean_display_name, row.get("姓名"), username)
            weak = users.password_problem(row.get("初始密码"), username)
            if weak:
                raise _Refuse(f"初始密码太弱：{weak}")
            roles = _roles(row.get("角色"))
            area, _kind, area_name = checker.resolve(row.get("区域"), "区域")
            plan.users.append(NewUser(row.number, username, display_name, row.get("初始密码"), roles, area, area_name))
        except _Refuse as why:
            plan.problems.append(Problem(SHEETS["users"], row.number, str(why)))


# -- applying ------------------------------------------------------------------------


def snapshot(session: Session, actor: User) -> Existing:
    """What `check` needs from the database (all areas: to tell "outside your subtree")."""
    areas = [
        KnownArea(a.id, a.name, a.kind, a.code, a.parent_id, a.path, a.retired_at is not None)
        for a in session.scalars(select(Area))
    ]
    return Existing(
        areas=areas,
        usernames=set(session.scalars(select(User.username))),
        sites={(a, n) for a, n in session.execute(select(Site.area_id, Site.name).where(Site.retired_at.is_(None)))},
        admin_paths=access.subtree_paths(actor, [Role.admin]),
    )


def preview(session: Session, actor: User, filename: str, data: bytes) -> Plan:
    return check(read_upload(filename, data), snapshot(session, actor))


def _common_area(session: Session, anchors: set[int]) -> Area | None:
    """The deepest area above every anchor: where the import's audit row is filed."""
    paths = [session.get(Area, i).path.strip("/").split("/") for i in anchors]  # type: ignore[union-attr]
    if not paths:
        return None
    common = os.path.commonprefix(paths)
    return session.get(Area, int(common[-1])) if common else None


def apply(session: Session, actor: User, filename: str, data: bytes, now: dt.datetime) -> dict[str, int]:
    """Create everything the file describes, or nothing: any problem refuses the whole file."""
    if not access.subtree_paths(actor, [Role.admin]):
        raise NotFound("未找到该对象。")
    plan = preview(session, actor, filename, data)
    if plan.problems:
        raise ValidationFailed(
            f"导入文件有 {len(plan.problems)} 处问题，没有导入任何内容。", field="file",
            problems=[{"sheet": p.sheet, "row": p.row, "message": p.message} for p in plan.problems],
        )
    made: dict[int, Area] = {}

    def area_of(ref: Ref) -> Area:
        return made[ref[1]] if ref[0] == "row" else session.get_one(Area, ref[1])

    for new in plan.areas:
        made[new.row] = create_area(session, new.name, new.kind, area_of(new.parent), new.code)
    for site in plan.sites:
        create_site(session, area_of(site.area), **site.fields)
    for person in plan.users:
        user = users.create_user(
            session, username=person.username, password=person.password,
            display_name=person.display_name, grants=[(r, area_of(person.area)) for r in person.roles],
        )
        user.must_change_password = True
    session.flush()
    anchors = {ref[1] for ref in [*(a.parent for a in plan.areas), *(s.area for s in plan.sites),
                                  *(u.area for u in plan.users)] if ref[0] == "db"}
    counts, file_hash = plan.counts(), hashlib.sha256(data).hexdigest()
    audit.record(
        session, actor, "import.apply", now, target=("import", file_hash[:16]),
        area=_common_area(session, anchors), detail={**counts, "file_sha256": file_hash},
    )
    return counts


# -- keeping the file between preview and apply --------------------------------------


def stash(directory: Path, user_id: int, filename: str, data: bytes, now: dt.datetime) -> str:
    """Keep an uploaded file (mode 600) until it is applied; returns its random id.

    Files older than STASH_TTL are removed on the way: they hold initial passwords."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in directory.glob("*.json"):
        meta = json.loads(old.read_text(encoding="utf-8"))
        if dt.datetime.fromisoformat(meta["at"]) + STASH_TTL < now:
            discard(directory, old.stem)
    stash_id = secrets.token_urlsafe(18)
    for suffix, content in (
        (".bin", data),
        (".json", json.dumps({"user_id": user_id, "filename": filename[-200:], "at": now.isoformat()}).encode()),
    ):
        fd = os.open(directory / f"{stash_id}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
    return stash_id


def unstash(directory: Path, stash_id: str, user_id: int, now: dt.datetime) -> tuple[str, bytes]:
    """The file a stash id names, only for the user who uploaded it and only while fresh."""
    gone = NotFound("上传的文件已过期或不存在，请重新上传。", field="file")
    if not STASH_ID.match(stash_id):
        raise gone
    try:
        meta = json.loads((directory / f"{stash_id}.json").read_text(encoding="utf-8"))
        data = (directory / f"{stash_id}.bin").read_bytes()
    except (OSError, ValueError):
        raise gone from None
    if meta.get("user_id") != user_id or dt.datetime.fromisoformat(meta["at"]) + STASH_TTL < now:
        raise gone
    return str(meta["filename"]), data


def discard(directory: Path, stash_id: str) -> None:
    if STASH_ID.match(stash_id):
        for suffix in (".bin", ".json"):
            (directory / f"{stash_id}{suffix}").unlink(missing_ok=True)
