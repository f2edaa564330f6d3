"""The catalogue as a spreadsheet: XLSX export, and an import checked row by row.

`export_xlsx` writes one row per live item under Chinese headers (分类, 事项, 公开范围, …).
An import reads the same file (`read_sheet`: the file's own problems — not a workbook,
formulas, merged cells, too many rows, unknown headers — refuse it whole), compares it
with a snapshot of the catalogue (`check`, pure: every bad cell with row, column and
reason; otherwise what is new, changed, restored, and what the file leaves out), and
`apply` does all of it or nothing, checking again inside the caller's transaction.
Items the file leaves out are retired only when the admin asks for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from server.domain import audit, catalogue, imports
from server.domain.catalogue import (
    FIELD_LABELS,
    FORM_LABELS,
    PERIOD_LABELS,
    SCOPE_LABELS,
    TIMING_LABELS,
    ItemInput,
)
from server.domain.errors import ValidationFailed
from server.domain.text import N_
from server.models import AreaKind, CatalogueCategory, CatalogueItem, Timing, User

MAX_BYTES = 1024 * 1024
MAX_ROWS = 1000  # items; a catalogue has about 60
SHEET = "公开目录"
COLUMNS = list(FIELD_LABELS)  # field names, in the order of the sheet's columns
HEADERS = [FIELD_LABELS[c] for c in COLUMNS]
REQUIRED = ["category", "title", "scope", "timing", "deadline_days", "forms", "responsible_department"]
STAGE_ARROW = "→"

SCOPE_BY_WORD = {str(label): key for key, label in SCOPE_LABELS.items()} | {
    "社会": "public", "先党内、后党外": "phased", "先党内，后党外": "phased"}
TIMING_BY_WORD = {str(label): t.value for t, label in TIMING_LABELS.items()}
PERIOD_BY_WORD = {str(label): p.value for p, label in PERIOD_LABELS.items()} | {
    "月": "monthly", "季度": "quarterly", "年": "yearly", "每月一次": "monthly", "每季度一次": "quarterly", "每年一次": "yearly"}
FORM_BY_WORD = {str(label): key for key, label in FORM_LABELS.items()} | {"屏": "screen", "显示屏": "screen", "公示栏": "board"}
STAGE_SPLIT = re.compile(r"\s*(?:→|->|—>|＞|>|\n)\s*")
FORM_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass(frozen=True)
class Problem:
    """One reason the file cannot be imported: row 0 is the whole file; `column` the
    header it is under and `cell` its address ("C5"), when it is about one cell."""

    row: int
    column: str
    cell: str
    message: str


@dataclass
class SheetRow:
    number: int
    category: str
    data: ItemInput
    bad: set[str] = field(default_factory=set)  # fields whose cell could not be read


@dataclass
class Sheet:
    rows: list[SheetRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# -- export ---------------------------------------------------------------------------


def row_values(item: CatalogueItem) -> list[Any]:
    """An item as the sheet's cells, in column order."""
    choice = catalogue.scope_choice(item)
    return [
        item.category.name, item.title, str(SCOPE_LABELS[choice]),
        item.internal_days if choice == "phased" else None,
        str(TIMING_LABELS[item.timing]),
        str(PERIOD_LABELS[catalogue.Period(item.period)]) if item.timing is Timing.regular and item.period else None,
        STAGE_ARROW.join(item.stages or []) if item.timing is Timing.staged else None,
        item.deadline_days,
        "、".join(str(FORM_LABELS[f]) for f in item.form_list() if f in FORM_LABELS),
        item.responsible_department, item.responsible_person,
    ]


def export_xlsx(session: Session, kind: AreaKind) -> bytes:
    """A kind's live catalogue as an XLSX workbook that `apply` takes back unchanged."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(HEADERS)
    for item in catalogue.live_items(session, kind):
        sheet.append(row_values(item))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text someone typed, never a formula for Excel to run
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [12, 30, 14, 8, 10, 8, 44, 8, 22, 16, 16]
    for cell, width in zip(sheet[1], widths, strict=True):
        sheet.column_dimensions[cell.column_letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C2"
    last = MAX_ROWS + 1
    for column, words in (("C", SCOPE_LABELS.values()), ("E", TIMING_LABELS.values()), ("F", PERIOD_LABELS.values())):
        check = DataValidation(type="list", formula1='"' + ",".join(str(w) for w in words) + '"', allow_blank=True)
        check.add(f"{column}2:{column}{last}")
        sheet.add_data_validation(check)
    notes = book.create_sheet("填写说明")
    for line in GUIDE:
        notes.append(line)
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GUIDE = [
    ("列", "怎么填"),
    ("分类", "目录分类名称；新名称会新建分类。"),
    ("事项", "要公开的事项名称，本目录内不能重复；按名称对应已有目录项。"),
    ("公开范围", "党内、社会公开 或 先党内后党外。"),
    ("党内先行天数", "只有“先党内后党外”填：先在党内公开几天（1–30），之后向社会公开。"),
    ("公开时限", "定期（按周期公开）、逐段（每个阶段公开一次）或 随时（发生后即公开）。"),
    ("周期", "只有“定期”填：每月、每季度 或 每年。"),
    ("阶段", "只有“逐段”填：至少 2 个阶段，按先后用 → 隔开，如 确定入党积极分子→确定发展对象。"),
    ("期限天数", "1–90：定期为周期结束后几天内，逐段为事项开始后几天内，随时为发生后几天内。"),
    ("公开形式", "屏幕、公开栏、会议、文件、网站 中的一种或几种，用“、”隔开。"),
    ("责任部门", "如 村党组织、村民委员会、村务监督委员会。"),
    ("责任人", "填职务，不填姓名，如 村党组织书记、报账员。"),
    ("注意", "不要用公式和合并单元格；一次最多 1000 行；文件不超过 1 MB。"),
]


# -- reading --------------------------------------------------------------------------


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The rows of an uploaded catalogue file, or the reasons it cannot be read at all."""
    sheet = Sheet()

    def refuse(message: str, row: int = 0, cell: str = "") -> Sheet:
        sheet.problems.append(Problem(row, "", cell, message))
        return sheet

    name = filename.lower()
    if len(data) > MAX_BYTES:
        return refuse(f"文件太大（{len(data) / 1048576:.1f} MB），上限 {MAX_BYTES // 1048576} MB。")
    if not data.startswith(b"PK\x03\x04"):
        if name.endswith(".xls") or data.startswith(b"\xd0\xcf\x11\xe0"):
            return refuse("不支持旧版 .xls 文件，请另存为 .xlsx 后再上传。")
        if name.endswith((".xlsx", ".xlsm")):
            return refuse("文件不是真正的 XLSX 表格（可能只是改了扩展名），请用 Excel 或 WPS 另存为 .xlsx。")
        return refuse("只能导入 .xlsx 文件（可先导出目录，在导出的文件上修改）。")
    problem = imports.xlsx_problem(data)
    if problem is not None:
        return refuse(problem)
    try:
        too_many = _count_rows(data) > MAX_ROWS + 1
    except Exception:  # untrusted bytes: any failure to parse means "not a workbook"
        return refuse(imports.NOT_XLSX)
    if too_many:
        return refuse(f"行数太多：超过 {MAX_ROWS} 行。公开目录一次最多导入 {MAX_ROWS} 个事项。")
    try:
        ws = _open(data, read_only=False)
    except Exception:
        return refuse(imports.NOT_XLSX)
    for merged in sorted(ws.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        sheet.problems.append(Problem(merged.min_row, "", merged.coord, f"有合并单元格 {merged.coord}，请取消合并后再导入。"))
    for cells in ws.iter_rows():
        for cell in cells:
            if cell.data_type == "f":
                sheet.problems.append(Problem(cell.row, "", cell.coordinate, f"单元格 {cell.coordinate} 是公式，请复制后“粘贴为数值”再导入。"))
    if sheet.problems:
        return sheet
    lines = [(cells[0].row, [imports.cell_text(c.value) for c in cells], [c.coordinate for c in cells]) for cells in ws.iter_rows()]
    if not lines:
        return refuse("表格是空的：第一行应是表头（分类、事项、公开范围……）。")
    header = _header(lines[0][1], lines[0][2], sheet)
    if header is None:
        return sheet
    for number, cells, coords in lines[1:]:
        if not any(cells):
            continue
        sheet.rows.append(_parse_row(number, cells, coords, header, sheet))
    if not sheet.rows and not sheet.problems:
        return refuse("文件里没有目录项：表头下面一行也没有。")
    return sheet


def _open(data: bytes, *, read_only: bool) -> Any:
    """The catalogue worksheet: the one named 公开目录, else the first."""
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=False, read_only=read_only)
    return book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]


def _count_rows(data: bytes) -> int:
    """Non-empty rows of the catalogue sheet, streamed, stopping once there are too many:
    a 100,000-row file is refused without reading it all."""
    ws = _open(data, read_only=True)
    count = 0
    try:
        for values in ws.iter_rows(values_only=True):
            if any(v not in (None, "") for v in values):
                count += 1
                if count > MAX_ROWS + 1:
                    break
    finally:
        ws.parent.close()
    return count


def _header(cells: list[str], coords: list[str], sheet: Sheet) -> dict[int, str] | None:
    by_label = {label: name for name, label in FIELD_LABELS.items()}
    header: dict[int, str] = {}
    for i, text in enumerate(cells):
        if not text:
            continue
        name = by_label.get(text)
        if name is None:
            sheet.problems.append(Problem(1, text, coords[i], f"表头“{text}”不认识。表头应为：{'、'.join(HEADERS)}。"))
        elif name in header.values():
            sheet.problems.append(Problem(1, text, coords[i], f"表头“{text}”出现了两次。"))
        else:
            header[i] = name
    missing = [FIELD_LABELS[n] for n in REQUIRED if n not in header.values()]
    if missing:
        sheet.problems.append(Problem(1, "", "", f"第一行（表头）缺少“{'”“'.join(missing)}”列。"))
    return None if sheet.problems else header


def _parse_row(number: int, cells: list[str], coords: list[str], header: dict[int, str], sheet: Sheet) -> SheetRow:
    values = {name: cells[i] for i, name in header.items() if i < len(cells)}
    where = {name: coords[i] for i, name in header.items() if i < len(coords)}
    row = SheetRow(number, " ".join(values.get("category", "").split()), ItemInput(title=values.get("title", "")))

    def bad(name: str, message: str) -> None:
        row.bad.add(name)
        sheet.problems.append(Problem(number, FIELD_LABELS[name], where.get(name, ""), f"{FIELD_LABELS[name]}：{message}"))

    def days(name: str, blank: int | None) -> int:
        text = values.get(name, "")
        if not text and blank is not None:
            return blank
        try:
            return int(text)
        except ValueError:
            bad(name, f"“{text}”不是整数天数。" if text else "请填写天数。")
            return 0

    data = row.data
    if not row.category:
        bad("category", "请填写分类。")
    elif len(row.category) > catalogue.NAME_MAX:
        bad("category", f"最多 {catalogue.NAME_MAX} 个字。")
    word = values.get("scope", "")
    if word in SCOPE_BY_WORD:
        data.scope = SCOPE_BY_WORD[word]
    else:
        bad("scope", f"“{word}”不认识，应为 党内、社会公开 或 先党内后党外。" if word else "请填写公开范围。")
    data.internal_days = days("internal_days", 0)
    word = values.get("timing", "")
    if word in PERIOD_BY_WORD and not values.get("period"):
        values["period"] = word  # "每季度" written as the timing means 定期, every quarter
        word = str(TIMING_LABELS[Timing.regular])
    if word in TIMING_BY_WORD:
        data.timing = TIMING_BY_WORD[word]
    else:
        bad("timing", f"“{word}”不认识，应为 定期、逐段 或 随时。" if word else "请填写公开时限。")
    word = values.get("period", "")
    if word and word not in PERIOD_BY_WORD:
        bad("period", f"“{word}”不认识，应为 每月、每季度 或 每年。")
    data.period = PERIOD_BY_WORD.get(word, "")
    data.stages = [s for s in STAGE_SPLIT.split(values.get("stages", "")) if s]
    data.deadline_days = days("deadline_days", None)
    words = [w for w in FORM_SPLIT.split(values.get("forms", "")) if w]
    unknown = [w for w in words if w not in FORM_BY_WORD]
    if unknown:
        bad("forms", f"“{'、'.join(unknown)}”不认识，应为 屏幕、公开栏、会议、文件、网站 中的一种或几种，用“、”隔开。")
    data.forms = list(dict.fromkeys(FORM_BY_WORD[w] for w in words if w in FORM_BY_WORD))
    data.responsible_department = values.get("responsible_department", "")
    data.responsible_person = values.get("responsible_person", "")
    for name, message in catalogue.item_problems(data):
        if name not in row.bad:  # a cell that could not be read has its problem already
            row.bad.add(name)
            sheet.problems.append(Problem(number, FIELD_LABELS[name], where.get(name, ""), message))
    return row


# -- checking against the catalogue ---------------------------------------------------


@dataclass(frozen=True)
class KnownItem:
    id: int
    title: str
    category: str
    data: ItemInput
    position: int
    retired: bool


@dataclass
class Snapshot:
    """A kind's catalogue, as far as checking an import needs to know."""

    categories: list[tuple[str, int]]  # (name, position)
    items: list[KnownItem]


@dataclass
class RowPlan:
    row: int
    category: str
    title: str
    status: str  # new, changed, restored, same
    changed: list[str] = field(default_factory=list)  # labels of the fields that change
    item_id: int | None = None
    data: ItemInput | None = None


STATUS_LABELS = {"new": N_("新增"), "changed": N_("已修改"), "restored": N_("已恢复"), "same": N_("不变")}


@dataclass
class Plan:
    rows: list[RowPlan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    new_categories: list[str] = field(default_factory=list)
    missing: list[KnownItem] = field(default_factory=list)  # live items the file leaves out
    retire_missing: bool = False
    reordered: bool = False

    def counts(self) -> dict[str, int]:
        counts = {status: sum(1 for r in self.rows if r.status == status) for status in STATUS_LABELS}
        counts["retired"] = len(self.missing) if self.retire_missing else 0
        counts["categories"] = len(self.new_categories)
        return counts

    def changes_anything(self) -> bool:
        counts = self.counts()
        return bool(counts["new"] or counts["changed"] or counts["restored"] or counts["retired"]
                    or counts["categories"] or self.reordered)


def snapshot(session: Session, kind: AreaKind) -> Snapshot:
    cats = catalogue.categories(session, kind)
    return Snapshot(
        categories=[(c.name, c.position) for c in cats],
        items=[KnownItem(i.id, i.title, c.name, ItemInput.of(i), i.position, i.retired_at is not None)
               for c in cats for i in c.items],
    )


def _same(a: ItemInput, b: ItemInput) -> list[str]:
    """Labels of the fields in which two inputs differ once tidied and stored."""
    x, y = CatalogueItem(), CatalogueItem()
    catalogue.fill(x, a)
    catalogue.fill(y, b)
    names = ["title", "internal_days", "timing", "period", "stages", "deadline_days", "forms",
             "responsible_department", "responsible_person"]
    changed = [FIELD_LABELS[n] for n in names if getattr(x, n) != getattr(y, n)]
    if x.scope is not y.scope and FIELD_LABELS["scope"] not in changed:
        changed.insert(1, FIELD_LABELS["scope"])
    return changed


def check(sheet: Sheet, known: Snapshot, retire_missing: bool = False) -> Plan:
    """Every bad row with its reason, or — when there is none — what applying will change."""
    plan = Plan(problems=list(sheet.problems), retire_missing=retire_missing)
    if not sheet.rows:  # the file itself is refused (or holds nothing)
        return plan
    live = {i.title: i for i in known.items if not i.retired}
    retired: dict[str, KnownItem] = {}
    for i in known.items:
        if i.retired and i.title not in live and (i.title not in retired or i.id > retired[i.title].id):
            retired[i.title] = i
    category_names = {name for name, _ in known.categories}
    seen: dict[str, int] = {}
    for row in sheet.rows:
        title = " ".join(row.data.title.split())
        if title and title in seen and "title" not in row.bad:
            plan.problems.append(Problem(row.number, FIELD_LABELS["title"], "",
                                         f"事项：“{title}”与第 {seen[title]} 行重复。"))
            row.bad.add("title")
        seen.setdefault(title, row.number)
        if row.bad:
            continue
        if row.category not in category_names and row.category not in plan.new_categories:
            plan.new_categories.append(row.category)
        old = live.get(title) or retired.get(title)
        if old is None:
            plan.rows.append(RowPlan(row.number, row.category, title, "new", data=row.data))
            continue
        changed = _same(old.data, row.data)
        if old.category != row.category:
            changed.insert(0, FIELD_LABELS["category"])
        status = "restored" if old.retired else ("changed" if changed else "same")
        plan.rows.append(RowPlan(row.number, row.category, title, status, changed, old.id, row.data))
    plan.problems.sort(key=lambda p: (p.row, HEADERS.index(p.column) if p.column in HEADERS else -1))
    if plan.problems:
        plan.rows = []
        return plan
    in_file = {r.title for r in plan.rows}
    plan.missing = [i for i in known.items if not i.retired and i.title not in in_file]
    plan.reordered = _order(plan, known)[2]
    return plan


def _slots(keys: list[Any], current: dict[Any, int], taken: list[int]) -> dict[Any, int]:
    """New positions for `keys` (in file order): the ones already in the container take the
    positions they held, in file order; new ones follow every position in use."""
    held = sorted(current[k] for k in keys if k in current)
    nxt = max(taken, default=-1) + 1
    out: dict[Any, int] = {}
    for key in keys:
        if key in current:
            out[key] = held.pop(0)
        else:
            out[key] = nxt
            nxt += 1
    return out


def _order(plan: Plan, known: Snapshot) -> tuple[dict[str, int], dict[str, int], bool]:
    """Positions after applying: of categories by name, of the file's items by title;
    and whether any existing category or item moves."""
    current_cats = dict(known.categories)
    file_cats = list(dict.fromkeys(r.category for r in plan.rows))
    cat_pos = _slots(file_cats, current_cats, list(current_cats.values()))
    moved = any(cat_pos[c] != current_cats[c] for c in file_cats if c in current_cats)
    item_pos: dict[str, int] = {}
    by_id = {i.id: i for i in known.items}
    for category in file_cats:
        rows = [r for r in plan.rows if r.category == category]
        titles = [r.title for r in rows]
        # the file's items already in this category (a restored one too) keep their slots
        here = {r.title: by_id[r.item_id].position for r in rows
                if r.item_id is not None and by_id[r.item_id].category == category}
        taken = [i.position for i in known.items if i.category == category]
        item_pos.update(_slots(titles, here, taken))
        moved = moved or any(item_pos[t] != here[t] for t in titles if t in here)
    return cat_pos, item_pos, moved


def preview(session: Session, kind: AreaKind, filename: str, data: bytes, retire_missing: bool = False) -> Plan:
    return check(read_sheet(filename, data), snapshot(session, kind), retire_missing)


def apply(
    session: Session, user: User, kind: AreaKind, filename: str, data: bytes, now: dt.datetime,
    retire_missing: bool = False,
) -> dict[str, int]:
    """Make the catalogue what the file says, or change nothing: any problem refuses it all."""
    home = catalogue._editor(user)
    kind = catalogue.catalogue_kind(kind.value)
    plan = preview(session, kind, filename, data, retire_missing)
    if plan.problems:
        raise ValidationFailed(
            f"导入文件有 {len(plan.problems)} 处问题，没有导入任何内容。", field="file",
            problems=[{"row": p.row, "column": p.column, "cell": p.cell, "message": p.message} for p in plan.problems],
        )
    known = snapshot(session, kind)
    cat_pos, item_pos, _moved = _order(plan, known)
    cats = {c.name: c for c in catalogue.categories(session, kind)}
    for name in plan.new_categories:
        cats[name] = CatalogueCategory(org_kind=kind, name=name, position=cat_pos[name])
        session.add(cats[name])
    for name, position in cat_pos.items():
        cats[name].position = position
    for row in plan.rows:
        assert row.data is not None
        if row.item_id is None:
            item = CatalogueItem(created_at=now)
            session.add(item)
        else:
            item = session.get_one(CatalogueItem, row.item_id)
            item.retired_at = None
        item.category = cats[row.category]
        catalogue.fill(item, row.data)
        item.position = item_pos[row.title]
    if retire_missing:
        for missing in plan.missing:
            session.get_one(CatalogueItem, missing.id).retired_at = now
    session.flush()
    counts = plan.counts()
    digest = hashlib.sha256(data).hexdigest()
    audit.record(
        session, user, "catalogue.import", now, target=("catalogue", kind.value), area=home,
        detail={**counts, "org_kind": kind.value, "reordered": plan.reordered, "file_sha256": digest,
                "titles": [r.title for r in plan.rows if r.status != "same"][:50]},
    )
    return counts
