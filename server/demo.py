"""The demo township: realistic Chinese data for trying Sunwall end to end.

Seeded once into an empty database (idempotent: a second run only prints the URLs).
Demo users share the password `sunwall-demo`, which exists only in demo mode.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.domain import areas, catalogue, devices, disclosures, feedback, schedules, users
from server.domain.disclosures import DraftInput
from server.models import (
    Area,
    AreaKind,
    BoardKind,
    CatalogueItem,
    DeviceKind,
    DisclosureKind,
    Orientation,
    Role,
    TargetKind,
    User,
)
from signage_layouts import dates

DEMO_PASSWORD = "sunwall-demo"
TOWNSHIP = "清河镇"
VILLAGES = [
    "东山村", "西岭村", "南湾村", "北坡村", "桃园村", "柳树村", "石桥村", "青龙村", "杏花村", "白水村",
]
COMMUNITY = "清河社区"

DEMO_USERS = [
    ("admin", "周建国（管理员）", Role.admin),
    ("editor", "李秀兰（经办人）", Role.editor),
    ("reviewer", "王志强（审核人）", Role.reviewer),
    ("scheduler", "陈晓东（排期）", Role.scheduler),
    ("handler", "刘芳（承办人）", Role.handler),
    ("supervisor", "赵德明（监督员）", Role.supervisor),
]


def is_seeded(session: Session) -> bool:
    return (session.scalar(select(func.count(Area.id))) or 0) > 0


def _item(session: Session, area: Area, title: str) -> CatalogueItem:
    """The item of that title in the catalogue of the area's kind."""
    return next(i for i in catalogue.items_for(session, area) if i.title == title)


def seed(session: Session, now: dt.datetime) -> dict[str, Any]:
    """Create the demo township; returns the screens' player keys (shown once, then saved)."""
    county = areas.create_area(session, "青山县", AreaKind.county)
    town = areas.create_area(session, TOWNSHIP, AreaKind.township, county)
    villages = [areas.create_area(session, n, AreaKind.village, town) for n in VILLAGES]
    community = areas.create_area(session, COMMUNITY, AreaKind.community, town)
    catalogue.seed_catalogue(session)
    # The catalogue has been in use for six weeks: last month's items are owed by now.
    for item in session.scalars(select(CatalogueItem)):
        item.created_at = now - dt.timedelta(days=45)
    zone = dates.DEFAULT_ZONE

    people = {
        name: users.create_user(
            session, username=name, password=DEMO_PASSWORD, display_name=label, grants=[(role, town)]
        )
        for name, label, role in DEMO_USERS
    }

    screens: list[dict[str, Any]] = []
    # The township's own service hall: its screens also show every village's echo wall.
    for area in [town, *villages, community]:
        hall = "便民服务中心" if area is town else "党群服务中心"
        site = areas.create_site(session, area, f"{area.name}{hall}", f"{TOWNSHIP}{area.name}")
        specs = [
            ("大厅信息屏", DeviceKind.signage, Orientation.landscape, False),
            ("大厅查询机", DeviceKind.kiosk, Orientation.landscape, False),
        ]
        if area is villages[0]:
            specs.append(("党员活动室屏", DeviceKind.signage, Orientation.landscape, True))
            specs.append(("门口竖屏", DeviceKind.signage, Orientation.portrait, False))
        for name, kind, orient, internal in specs:
            device = devices.create_device(session, None, site, name, kind, orient, now, internal=internal)
            key = devices.replace_browser_key(session, None, device, now)
            screens.append(
                {"device_id": device.id, "village": area.name, "name": name, "key": key,
                 "internal": internal, "orientation": orient.value, "kind": kind.value}
            )

    editor, reviewer = people["editor"], people["reviewer"]
    start = now - dt.timedelta(days=3)
    made = []

    def publish(area: Area, item: str, title: str, body: str = "", table: dict | None = None,
                days: int | None = 30, period: str = "", case: int | str | None = None, stage: int | None = None,
                ) -> Any:
        data = DraftInput(
            area_id=area.id, catalogue_item_id=_item(session, area, item).id, title=title,
            valid_from=start, valid_to=(now + dt.timedelta(days=days)) if days else None,
            kind=DisclosureKind.table if table else DisclosureKind.notice, body=body, table=table,
            period=period, stage=stage, case_id=case if isinstance(case, int) else None,
            case_title=case if isinstance(case, str) else "", case_opened_on=dates.local_day(start, zone),
        )
        d = disclosures.create_draft(session, editor, data, start, zone)
        disclosures.submit(session, editor, d.id, start)
        disclosures.approve(session, reviewer, d.id, start + dt.timedelta(hours=2), "同意公开", zone=zone)
        made.append(d)
        return d

    for area in [*villages, community]:
        publish(area, "主题党日活动安排", f"{area.name}11月主题党日活动安排",
                f"## 活动主题\n\n学习贯彻党的二十届四中全会精神。\n\n## 时间地点\n\n- 时间：11月28日上午9:00\n- 地点：{area.name}党群服务中心二楼会议室\n\n请全体党员**准时参加**，因故不能参加的请提前向支部书记请假。", period="2026-11")
    east, west, south = villages[0], villages[1], villages[2]
    publish(town, "便民服务事项与办事指南", "清河镇便民服务中心办事指南",
            "## 可办理事项\n\n- 城乡居民医保参保登记\n- 高龄津贴申请\n- 农村危房改造申请\n\n**办公时间**：工作日 8:30–12:00，14:30–17:30。\n\n咨询电话：0571-8888 1234", days=None, period="2026")
    publish(east, "党费收缴情况", "东山村党支部2026年第三季度党费收缴情况",
            "按照《中国共产党党费收缴、使用和管理的规定》，现将本季度党费收缴情况公示如下。",
            {"columns": ["姓名", "月均应交（元）", "7月", "8月", "9月", "合计（元）"],
             "rows": [["张国华", "10.00", "10.00", "10.00", "10.00", "30.00"],
                      ["李春梅", "5.00", "5.00", "5.00", "5.00", "15.00"],
                      ["王建军", "20.00", "20.00", "20.00", "20.00", "60.00"],
                      ["赵玉珍", "0.20", "0.20", "0.20", "0.20", "0.60"],
                      ["陈立新", "12.50", "12.50", "12.50", "12.50", "37.50"]]}, period="2026-Q3")
    publish(east, "村级财务收支明细", "东山村2026年10月财务收支明细",
            "本月收支已经村务监督委员会审核。",
            {"columns": ["日期", "摘要", "收入（元）", "支出（元）", "经手人"],
             "rows": [["10-08", "上级转移支付（村级运转经费）", "50,000.00", "", "会计"],
                      ["10-12", "村道路灯维修", "", "3,260.00", "张国华"],
                      ["10-20", "集体鱼塘承包费", "12,000.00", "", "会计"],
                      ["10-25", "环境卫生保洁劳务", "", "4,800.00", "李春梅"],
                      ["10-31", "办公用品", "", "586.50", "会计"]]}, period="2026-10")
    publish(west, "惠民补贴与困难救助名单", "西岭村2026年度困难群众临时救助名单公示",
            "公示期 7 天。如有异议，请向村务监督委员会或镇民政办反映。",
            {"columns": ["姓名", "身份证号", "联系电话", "救助事由", "金额（元）"],
             "rows": [["孙福来", "330122195603121234", "13812345678", "因病致困", "2,000"],
                      ["周桂英", "33012219480215002X", "13967781234", "独居老人冬季取暖", "800"],
                      ["吴小军", "330122198809301215", "15857123456", "意外伤残", "3,000"]],
             "masked": [1, 2]}, days=7)
    publish(east, "预备党员转正", "关于刘海燕同志预备党员转正的党内公示",
            "刘海燕同志预备期满，支部拟于12月5日召开党员大会讨论其转正申请。党员如有意见，请于12月4日前向支部反映。")
    publish(east, "村干部任免与分工", "东山村“两委”班子成员分工调整",
            "## 分工\n\n| 姓名 | 职务 | 分管工作 |\n| --- | --- | --- |\n| 张国华 | 党支部书记、村委会主任 | 全面工作 |\n| 李春梅 | 支部委员 | 妇联、计生、党建 |\n| 王建军 | 村委委员 | 农业、水利、安全生产 |")
    publish(south, "大额经费开支", "南湾村文化礼堂修缮工程经费支出公开",
            "经村民代表会议表决通过，文化礼堂修缮工程总投资 **18.6 万元**，已完成竣工验收。\n\n- 施工单位：青山县某建筑公司\n- 资金来源：上级补助 12 万元，村集体 6.6 万元")
    # A decision disclosed at every stage of 四议两公开: the earlier stages' notices have
    # ended their posting periods; the resolution is on the screens now.
    earlier = [
        ("西岭村党支部关于实施高标准农田建设的提议", "党支部会议提议实施 320 亩高标准农田建设项目（10月9日）。"),
        ("西岭村“两委”联席会议商议高标准农田建设", "“两委”联席会议商议并完善了实施方案（10月12日）。"),
        ("西岭村党员大会审议高标准农田建设方案", "党员大会审议通过实施方案，应到党员 36 人，实到 33 人（10月16日）。"),
        ("西岭村村民代表会议决议高标准农田建设", "村民代表会议表决，到会代表 41 人，同意 39 人（10月20日）。"),
    ]
    case: int | str = "西岭村高标准农田建设项目"
    for stage, (title, text) in enumerate(earlier):
        d = publish(west, "“四议两公开”决策事项", title, text, days=-2, case=case, stage=stage)
        case = d.case_id
    publish(west, "“四议两公开”决策事项", "西岭村关于实施高标准农田建设的决议公开", case=case, stage=4, body=
            "## 决策过程\n\n1. 党支部提议（10月9日）\n2. “两委”会议商议（10月12日）\n3. 党员大会审议（10月16日）\n4. 村民代表会议决议（10月20日）\n\n## 决议结果\n\n同意实施 320 亩高标准农田建设项目，到会代表 41 人，同意 39 人。")
    publish(town, "廉洁从政规定与监督举报方式", "清河镇村干部廉洁履职“十不准”",
            "- 不准违规决策\n- 不准虚报冒领惠农资金\n- 不准优亲厚友\n- 不准收受礼金\n\n监督举报电话：12388", days=None, period="2026")
    # A member's development, disclosed inside the party first (5 days), then to everyone.
    publish(east, "发展党员各阶段公示", "关于确定陈晓东同志为入党积极分子的公示",
            "经党员推荐、支部委员会研究，拟确定陈晓东同志为入党积极分子。\n\n公示期内如有意见，请向党支部或镇党委组织办反映。",
            case="发展党员——陈晓东", stage=0)
    publish(east, "“三会一课”开展情况", "东山村党支部2026年第三季度“三会一课”开展情况",
            "- 支部党员大会 1 次（9月26日），学习党纪学习教育材料\n- 支委会 3 次\n- 党小组会 6 次\n- 书记讲党课 1 次：《做新时代合格党员》", period="2026-Q3")
    session.flush()

    _schedule(session, people["scheduler"], town, made, screens, now)

    asked = [
        (east, made[0], "question", "主题党日能带家属旁听吗？", "欢迎群众旁听，请在活动开始前到服务中心登记。", True),
        (east, None, "suggestion", "村口路灯晚上不亮，希望尽快修一下。", "已于10月12日完成维修，感谢您的监督。", True),
        (west, None, "opinion", "救助名单能不能在村务公开栏也贴一份？", "已同步张贴在村务公开栏，公示期 7 天。", True),
        (east, None, "question", "高龄津贴需要带哪些材料？", None, False),
        (south, None, "suggestion", "文化礼堂晚上能不能开放给广场舞队？", None, False),
        (west, None, "report", "有人反映低保评定不公平，请核查。", None, False),
    ]
    for area, disc, feedback_kind, body, answer, public in asked:
        ticket = feedback.submit(
            session, feedback.FeedbackInput(kind=feedback_kind, body=body), area=area,
            disclosure=disc, device=None, now=now - dt.timedelta(days=2),
        )
        if answer:
            feedback.answer(session, people["handler"], ticket.id, answer, public, now - dt.timedelta(days=1))
    session.flush()
    return {"screens": screens}


def _schedule(
    session: Session, scheduler: User, town: Area, made: list[Any], screens: list[dict[str, Any]], now: dt.datetime
) -> None:
    """A township that schedules: its kiosks grouped, an evening loop on every hall screen."""
    kiosks = [s["device_id"] for s in screens if s["kind"] == "kiosk"]
    schedules.create_group(session, scheduler, town.id, "全镇查询机", kiosks, now)
    town_items = [d for d in made if d.area_id == town.id]
    evening = schedules.create_playlist(
        session, scheduler, town.id, "晚间节目（18:00–21:30）",
        [schedules.ItemInput(BoardKind.disclosure, d.id, 20) for d in town_items]
        + [schedules.ItemInput(BoardKind.echo_wall)],
        now,
    )
    schedules.create_entry(
        session, scheduler,
        schedules.EntryInput(
            playlist_id=evening.id, target_kind=TargetKind.area, target_id=town.id,
            starts_on=now.date() - dt.timedelta(days=1), dayparts=((18 * 60, 21 * 60 + 30),), priority=20,
            note="晚饭后群众来得多：镇里的通知和回音壁多放几遍",
        ),
        now, "Asia/Shanghai",
    )


def save_screens(data_dir: Path, info: dict[str, Any]) -> None:
    path = data_dir / "demo-screens.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(info, fh, ensure_ascii=False, indent=1)


def load_screens(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "demo-screens.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"screens": []}


def demo_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))
