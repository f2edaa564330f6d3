"""Scripts for read-aloud: numbers, dates and masks read as a person reads them."""

from __future__ import annotations

import pytest

from server.domain import speech


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (0, "零"), (7, "七"), (10, "十"), (15, "十五"), (20, "二十"), (105, "一百零五"), (110, "一百一十"),
        (1005, "一千零五"), (12345, "一万二千三百四十五"), (100005, "十万零五"), (1000000, "一百万"),
        (20300, "二万零三百"), (100000000, "一亿"), (-3, "负三"),
    ],
)
def test_numbers_are_said_as_numbers(n, said):
    assert speech.number(n) == said


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("联系电话138****5678", "联系电话一三八，隐去四位，五六七八，"),
        ("身份证号1101**********1234。", "身份证号一一〇一，隐去十位，一二三四，。"),
        ("户主张*，李**", "户主张某，李某某"),
        ("2026年11月20日起", "二〇二六年十一月二十日起"),
        ("2026年第四季度", "二〇二六年第四季度"),
        ("12月8日开会", "十二月八日开会"),
        ("截至2026-11-30", "截至二〇二六年十一月三十日"),
        ("晚上19:30在村委会", "晚上十九点三十分在村委会"),
        ("上午8:00", "上午八点整"),
        ("收入合计12,345.60元", "收入合计一万二千三百四十五点六〇元"),
        ("同比增长12.5%", "同比增长百分之十二点五"),
        ("账号6222020200112233", "账号六二二二〇二〇二〇〇一一二二三三"),
        ("共3户", "共三户"),
    ],
)
def test_speakable_reads_numbers_dates_and_masks_naturally(text, said):
    assert speech.speakable(text) == said


def test_no_asterisk_or_arabic_digit_is_left_for_the_engine():
    said = speech.speakable("张*（138****5678）2026年11月领取800元，占比3.5%，编号A12**34")
    assert "*" not in said and not any(c.isdigit() for c in said), said


def test_a_table_is_read_row_by_row_with_its_column_names():
    data = {
        "title": "十一月低保金发放表", "category": "服务群众", "area": "东山村", "timezone": "Asia/Shanghai",
        "valid_from": "2026-11-20T00:00:00+00:00", "valid_to": None, "body_html": "<p>发放情况如下：</p>",
        "table": {"columns": ["户主", "电话", "金额（元）"], "rows": [["王*", "138****5678", "800.00"], ["李**", "", "650"]]},
    }
    said = speech.script("table", data).splitlines()
    assert said[:4] == ["服务群众。", "十一月低保金发放表。", "东山村。", "二〇二六年十一月二十日起。"]
    assert said[4] == "发放情况如下："
    assert said[5] == "第一行：户主 王某，电话 一三八，隐去四位，五六七八，，金额（元） 八百点〇〇。"
    assert said[6] == "第二行：户主 李某某，金额（元） 六百五十。"


def test_a_notice_body_is_read_as_sentences_without_markup():
    data = {
        "title": "关于召开村民代表会议的通知", "category": "民主决策", "area": "东山村", "timezone": "Asia/Shanghai",
        "valid_from": "2026-11-20T00:00:00+08:00", "valid_to": "2026-11-27T00:00:00+08:00",
        "body_html": "<h2>时间</h2><p>12月1日<strong>19:30</strong></p><ul><li>议题一&amp;二</li><li>其他</li></ul>",
    }
    said = speech.script("notice", data)
    assert "<" not in said and "&amp;" not in said
    assert said.splitlines()[3:] == [
        "二〇二六年十一月二十日 至 二〇二六年十一月二十六日。", "时间。", "十二月一日十九点三十分。", "议题一&二。", "其他。",
    ]


def test_urgent_and_echo_wall_scripts():
    urgent = speech.script("urgent", {
        "title": "山洪预警", "body": "请沿河村民立即转移\n到村委会避险", "area": "清河镇", "timezone": "Asia/Shanghai",
        "starts_at": "2026-11-20T10:00:00+08:00", "ends_at": "2026-11-20T18:00:00+08:00",
    })
    assert urgent.splitlines()[:4] == ["紧急通知。", "山洪预警。", "请沿河村民立即转移。", "到村委会避险。"]
    assert "十点整发布" in urgent and "十八点整止" in urgent
    echo = speech.script("echo_wall", {
        "title": "东山村回音壁", "timezone": "Asia/Shanghai",
        "entries": [{"kind": "咨询", "question": "路灯什么时候修？", "answer": "12月5日前修好。", "answered_at": "2026-11-20T00:00:00+00:00"}],
    })
    assert echo.splitlines() == ["东山村回音壁。", "咨询。村民问：路灯什么时候修？", "答复：十二月五日前修好。"]
