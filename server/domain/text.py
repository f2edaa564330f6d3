"""A marker for user-facing labels defined in domain code (Chinese is the source).

`N_` returns its argument unchanged; it only tells `pybabel extract` (see babel.cfg) that
the string is a msgid, so templates can translate it with `_(label)` at render time.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message
