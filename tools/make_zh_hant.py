"""Make the Traditional Chinese catalogue (zh_Hant) from the Simplified msgids.

    .venv/bin/pip install -e '.[translate]'      # OpenCC, a translator's tool only
    .venv/bin/python tools/make_zh_hant.py       # writes zh_Hant/LC_MESSAGES/messages.po
    .venv/bin/pybabel compile -d server/translations --statistics

Every msgid of server/translations/messages.pot is converted with OpenCC's `s2twp`
(Simplified → Traditional with Taiwan phrasing), then the corrections below are applied
where Taiwan's IT vocabulary does not fit this system (审核 is 審核 here, not 稽核). The
.po is rewritten whole each time: correct a word in CORRECTIONS (or a whole message in
MESSAGES), never by hand in the .po. Run it after `pybabel extract` / `pybabel update`
(docs/translating.md); tests/test_i18n.py checks that the result is complete.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import opencc
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "server" / "translations" / "messages.pot"
PO = ROOT / "server" / "translations" / "zh_Hant" / "LC_MESSAGES" / "messages.po"

# s2twp output → what this system means. Checked by a person; extend as needed.
CORRECTIONS = {
    "稽核": "審核",  # review (审核), not audit
    "型別": "類型",  # a kind of thing, not a programming type
    "程式碼": "代碼",  # area and action codes, not source code
    "社群": "社區",  # a residential community (社区), not an online one
    "許可權": "權限",  # permissions
    "釋出": "發布",  # publish
    "併發布": "並發布",  # 审核通过并发布: "and publish"
    "一齣現": "一出現",
    "賬號": "帳號",
    "迴音壁": "回音壁",  # the echo wall keeps the name of the wall it is named after
    "迴圈": "循環",  # a video playing in a loop, not a program loop
    "隻能": "只能",  # 只 "only", not the measure word 隻
    "隻影響": "只影響",
    "寫明瞭": "寫明了",  # 写明了: the particle 了, not 瞭
    "合並單元格": "合併單元格",  # merged cells
}
# Whole messages that need other wording than the conversion gives: msgid → msgstr.
MESSAGES: dict[str, str] = {
    "文件": "文件",  # 公开形式: an official document, not a computer file (檔案)
}

_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[sdifr%]")


def convert(converter: opencc.OpenCC, text: str) -> str:
    if text in MESSAGES:
        return MESSAGES[text]
    out = converter.convert(text)
    for wrong, right in CORRECTIONS.items():
        out = out.replace(wrong, right)
    if sorted(_PLACEHOLDER.findall(out)) != sorted(_PLACEHOLDER.findall(text)):
        raise SystemExit(f"placeholders changed in {text!r} → {out!r}")
    return out


def build(pot: Catalog, converter: opencc.OpenCC) -> Catalog:
    catalog = Catalog(
        locale="zh_Hant",
        project=pot.project,
        version=pot.version,
        copyright_holder="Sunwall contributors",
        creation_date=pot.creation_date,
        revision_date=pot.creation_date,  # the same input gives the same file
        last_translator="tools/make_zh_hant.py (OpenCC s2twp)",
        language_team="Traditional Chinese",
        fuzzy=False,
        header_comment=(
            "# Traditional Chinese translations for PROJECT, made from messages.pot\n"
            "# by tools/make_zh_hant.py (OpenCC s2twp). Do not edit by hand:\n"
            "# correct words in that script and run it again.\n"
            "# Copyright (C) YEAR ORGANIZATION\n"
            "# This file is distributed under the same license as the PROJECT project."
        ),
    )
    for message in pot:
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # Chinese has one plural form: the plural's text
            string: str | tuple[str, ...] = (convert(converter, message.id[1]),)
        else:
            string = convert(converter, message.id)
        catalog.add(
            message.id, string, locations=message.locations, flags=message.flags - {"fuzzy"},
            auto_comments=message.auto_comments, user_comments=message.user_comments, context=message.context,
        )
    return catalog


def main() -> int:
    with POT.open("rb") as f:
        pot = read_po(f)
    catalog = build(pot, opencc.OpenCC("s2twp"))
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        write_po(f, catalog, width=76, ignore_obsolete=True)
    print(f"wrote {PO.relative_to(ROOT)}: {len(catalog)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
