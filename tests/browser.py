"""Headless Chromium for page tests, and small helpers to drive the Sunwall player.

Playwright's sync API drives Debian's own chromium (never a downloaded browser). The
player rotates boards on `setTimeout`; `PLAYER_HOOK` remembers each pending timer's
callback so a test can run the player's own next rotation now instead of waiting
15–20 s for it (see `show_board`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = Path(os.environ.get("SUNWALL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--autoplay-policy=no-user-gesture-required",  # as screens run it (docs/kiosk.md): signage reads aloud untouched
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "sunwall-demo"
POLL_MS = 50  # wait_for_function polls on a timer: animation frames can stall in headless

# Runs before any page script. Pass-through wrappers: timers behave exactly as before.
PLAYER_HOOK = """
(() => {
  const pending = new Map();
  const realSet = window.setTimeout.bind(window);
  const realClear = window.clearTimeout.bind(window);
  window.setTimeout = function (fn, delay, ...args) {
    if (typeof fn !== "function") return realSet(fn, delay, ...args);
    const id = realSet(() => { pending.delete(id); fn(...args); }, delay);
    pending.set(id, { delay: Number(delay) || 0, run: () => { realClear(id); pending.delete(id); fn(...args); } });
    return id;
  };
  window.clearTimeout = function (id) { pending.delete(id); return realClear(id); };
  window.__sunwallTimers = pending;
})();
"""


def require_chromium() -> None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
            "(the test bootstrap does) or set SUNWALL_CHROMIUM; browser tests never download one.",
            pytrace=False,
        )


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block."""
    require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def player_context(
    browser: Browser, width: int = 1920, height: int = 1080, **kwargs: Any
) -> BrowserContext:
    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", **kwargs
    )
    context.add_init_script(PLAYER_HOOK)
    return context


def phone_context(browser: Browser, **kwargs: Any) -> BrowserContext:
    return browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        **kwargs,
    )


def open_player(
    context: BrowserContext,
    base_url: str,
    key: str,
    timeout_ms: int = 10_000,
    before: Callable[[Page], Any] | None = None,
) -> Page:
    """Open a screen's browser player and wait until it shows its first board;
    `before` gets the page ahead of navigation (to attach listeners)."""
    page = context.new_page()
    if before is not None:
        before(page)
    page.goto(f"{base_url}/player/{key}")
    page.wait_for_function(
        "() => window.sunwallPlayer && window.sunwallPlayer.manifest"
        " && document.getElementById('stage').dataset.boardId",
        timeout=timeout_ms,
        polling=POLL_MS,
    )
    settle(page)
    return page


def settle(page: Page) -> None:
    """Wait until the shown board's fade-in has finished (screenshots catch it half-drawn)."""
    page.wait_for_function(
        "() => { const b = document.querySelector('#stage .board');"
        " return b && b.getAnimations().every(a => a.playState === 'finished'); }",
        polling=POLL_MS,
    )


def boards(page: Page) -> list[dict[str, Any]]:
    """Boards of the newest manifest the player holds (the pending one if any), each with
    its fetched `html`."""
    return page.evaluate(
        """() => { const s = window.sunwallPlayer;
          return (s.pending || s.manifest).boards.map(b => ({...b, html: s.pages[b.content] || ""})); }"""
    )


def wait_for_board(
    page: Page, text: str, id_prefix: str = "", timeout_ms: int = 8_000
) -> dict[str, Any]:
    """Poll until a board whose id starts with `id_prefix` and whose HTML contains `text`
    reaches the player. Returns {"board", "at": performance.now() when seen, "pending"}."""
    handle = page.wait_for_function(
        """([text, prefix]) => {
          const s = window.sunwallPlayer;
          for (const [m, pending] of [[s.pending, true], [s.manifest, false]]) {
            const b = m && m.boards.find(x => x.id.startsWith(prefix) && (s.pages[x.content] || "").includes(text));
            if (b) return { board: {...b, html: s.pages[b.content]}, at: performance.now(), pending: pending };
          }
          return false;
        }""",
        arg=[text, id_prefix],
        timeout=timeout_ms,
        polling=POLL_MS,
    )
    return handle.json_value()


def show_board(page: Page, board_id: str) -> None:
    """Run the player's pending rotation now, aimed at `board_id` of what plays now.

    The player's own rotation runs (`advance`, `show(index + 1)`): it swaps a pending
    manifest in and renders the board exactly as a timed rotation would, from its first
    page; only the wait is skipped.
    """
    ok = page.evaluate(
        """(id) => {
          const s = window.sunwallPlayer;
          if (s.pending) { s.manifest = s.pending; s.pending = null; }
          const now = Date.now(), m = s.manifest;
          const seg = (m.timeline.find(x => Date.parse(x.from) <= now && now < Date.parse(x.until)) || {loops: ["default"]});
          const ids = [].concat(...seg.loops.map(k => (m.loops[k] || []).map(i => i.board)));
          const playing = ids.filter(b => { const x = m.boards.find(y => y.id === b);
            return x && (!x.from || Date.parse(x.from) <= now) && (!x.until || Date.parse(x.until) > now) && s.pages[x.content]; });
          const i = playing.indexOf(id);
          if (i < 0 || !window.__sunwallTimers.get(s.timer)) return false;
          s.index = i - 1;
          s.advance();
          return true;
        }""",
        board_id,
    )
    assert ok, f"board {board_id} is not in the player's manifest, or no rotation is pending"
    page.wait_for_selector(f'#stage[data-board-id="{board_id}"]', timeout=5_000)
    settle(page)


def decode_qr(png: bytes) -> list[str]:
    """Every QR code zxing-cpp finds in a PNG screenshot."""
    import zxingcpp
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return [
            r.text
            for r in zxingcpp.read_barcodes(image)
            if r.format == zxingcpp.BarcodeFormat.QRCode
        ]


AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

AXE_RUN = """async ([exclude, tags]) => {
  const context = exclude.length ? { exclude: exclude.map(s => [s]) } : document;
  const result = await axe.run(context, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"], iframes: true,
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({ target: n.target, html: n.html, summary: n.failureSummary })),
  }));
}"""


def axe_violations(page: Page, exclude: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The WCAG 2.2 A/AA violations (axe-core rules tagged `AXE_TAGS`) of the page as it
    is now, its frames included; `exclude` lists CSS selectors left out (say why where
    you pass one). Injects the vendored axe-core with `add_script_tag`, an inline
    script: the server's CSP refuses those, so make the context with `bypass_csp=True`.
    Lazy frames (screen previews below the fold) are loaded first, to be checked too."""
    page.evaluate("() => document.querySelectorAll('iframe[loading=lazy][src]').forEach(f => { f.loading = 'eager'; })")
    page.wait_for_function(
        """() => [...document.querySelectorAll('iframe[src]')].every(f => {
             const d = f.contentDocument; return !d || (d.readyState === 'complete' && d.URL !== 'about:blank'); })""",
        polling=POLL_MS,
    )
    for frame in page.frames:
        if frame.url.startswith(("http", "about:srcdoc")) and not frame.evaluate("() => !!window.axe"):
            frame.add_script_tag(path=str(AXE_SCRIPT))
    return list(page.evaluate(AXE_RUN, [list(exclude), list(AXE_TAGS)]))


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per broken rule: id, impact, what it asks, and each element's
    selector with axe's own account of what to fix."""
    lines: list[str] = []
    for v in violations:
        lines.append(f"[{v['id']}] ({v['impact']}) {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:8]:
            lines.append(f"    at {' >> '.join(map(str, node['target']))}: {node['html'][:160]}")
            lines.extend(f"        {line}" for line in (node["summary"] or "").splitlines() if line.strip())
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more like these")
    return "\n".join(lines)


def assert_accessible(page: Page, where: str, exclude: Sequence[str] = ()) -> None:
    """Fail with every WCAG 2.2 A/AA violation axe-core finds on `page` (see `axe_violations`)."""
    found = axe_violations(page, exclude)
    assert not found, f"axe-core: {len(found)} WCAG rule(s) broken on {where} ({page.url}):\n" + describe_violations(found)


def login(page: Page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("main form button[type=submit], main form button:not([type])").first.click()
    page.wait_for_url(lambda u: "/login" not in u)


def logout(page: Page) -> None:
    page.locator("header.top form[action$='/logout'] button").click()
    page.wait_for_url("**/login")
