/* Sunwall player: plays a manifest's timeline; the same file runs on the server's
   /player page and from a kiosk agent's local cache. No framework, no network fonts.

   A manifest carries a week of schedule: `timeline` says which loops play when, `loops`
   list boards, `boards` give each board's content hash, posting period and this screen's
   QR link, `urgent` names notices that interrupt everything while in their period.
   Board HTML is fetched by hash and kept (memory and localStorage), so the player goes
   on switching loops and taking items down on time with the server out of reach. A new
   manifest is swapped in only once every board it lists is at hand. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("player-config").textContent);
  var stage = document.getElementById("stage");
  var dots = document.getElementById("dots");
  var linkState = document.getElementById("link-state");
  var storeKey = "sunwall.manifest." + (cfg.cacheKey || "default");
  var pageKey = "sunwall.board.";
  var receiptKey = "sunwall.receipts." + (cfg.cacheKey || "default");
  var state = {
    manifest: null, pending: null, etag: null, index: -1, timer: null, online: false,
    pages: {}, playing: [], signature: "", urgentIndex: -1
  };
  window.sunwallPlayer = state;
  // The next board now, whatever page the current one is on (tests skip the wait with it).
  state.advance = function () { clearTimeout(state.timer); show(state.index + 1); };

  // ------------------------------------------------------------------ chrome language

  // The screen's fixed wording comes from the manifest's `chrome` (made by the server in
  // the screen's language, server/domain/chrome.py); the Simplified wording written here
  // and in the templates is the fallback. Content is never translated.
  function t(key, fallback, values) {
    var c = state.manifest && state.manifest.chrome, text = c && typeof c[key] === "string" ? c[key] : fallback;
    return text.replace(/%\((\w+)\)s/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }
  function setLines(el, text) {  // "\n" in a chrome string is a line break
    var lines = text.split("\n");
    el.textContent = lines[0];
    for (var i = 1; i < lines.length; i++) {
      el.appendChild(document.createElement("br"));
      el.appendChild(document.createTextNode(lines[i]));
    }
  }
  // Elements marked data-chrome (text), data-chrome-label (aria-label) or
  // data-chrome-title (title) under `root` take the screen's wording.
  function translate(root) {
    var c = state.manifest && state.manifest.chrome;
    if (!c || !root) return;
    var each = function (attr, apply) {
      Array.prototype.forEach.call(root.querySelectorAll("[" + attr + "]"), function (el) {
        var text = c[el.getAttribute(attr)];
        if (typeof text === "string") apply(el, text);
      });
    };
    each("data-chrome", setLines);
    each("data-chrome-label", function (el, text) { el.setAttribute("aria-label", text); });
    each("data-chrome-title", function (el, text) { el.setAttribute("title", text); });
  }
  var localised = "";
  function localise(m) {
    var key = JSON.stringify([m.lang, m.chrome]);
    if (key === localised) return;
    localised = key;
    document.documentElement.lang = m.lang || "zh-CN";
    if (m.lang && m.lang !== "zh-CN") {  // at once, not at the clock's next second
      document.getElementById("clock-date").textContent = longDate(m.lang, m.timezone || "Asia/Shanghai");
    }
    document.documentElement.style.setProperty("--chrome-paused", JSON.stringify(t("paused", "‖ 已暂停，轻触继续")));
    translate(document.body);
  }

  function setLink(online) {
    state.online = online;
    linkState.className = "link-state " + (online ? "online" : "offline");
  }

  // The hall's clock follows the township's zone, whatever the screen's OS thinks.
  var WEEK = { Sun: "日", Mon: "一", Tue: "二", Wed: "三", Thu: "四", Fri: "五", Sat: "六" };
  var fmt = null, fmtZone = null;
  function tick() {
    var zone = (state.manifest && state.manifest.timezone) || "Asia/Shanghai";
    if (zone !== fmtZone) {
      fmtZone = zone;
      fmt = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
        month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    }
    var p = {};
    fmt.formatToParts(new Date()).forEach(function (x) { p[x.type] = x.value; });
    var lang = state.manifest && state.manifest.lang;
    document.getElementById("clock-date").textContent = lang && lang !== "zh-CN" ? longDate(lang, zone)
      : p.year + "年" + p.month + "月" + p.day + "日 星期" + WEEK[p.weekday];
    document.getElementById("clock-time").textContent = p.hour + ":" + p.minute + ":" + p.second;
    // The schedule moves on by itself (a daypart, a posting period, an urgent notice).
    if (state.manifest && !state.needsSetup && signatureAt(state.manifest, Date.now()) !== state.signature) {
      show(0);
    }
  }

  // Another chrome language: the date as that language writes it (zh-TW, en).
  var longFmt = {};
  function longDate(lang, zone) {
    var key = lang + " " + zone;
    if (!longFmt[key]) {
      try {
        longFmt[key] = new Intl.DateTimeFormat(lang, { timeZone: zone, weekday: "long", year: "numeric", month: "long", day: "numeric" });
      } catch (e) { longFmt[key] = new Intl.DateTimeFormat("en", { timeZone: zone, dateStyle: "full" }); }
    }
    return longFmt[key].format(new Date());
  }

  // ------------------------------------------------------------------ what plays now

  function within(item, now) {
    return (!item.from || Date.parse(item.from) <= now) && (!item.until || Date.parse(item.until) > now);
  }

  function boardsById(m) {
    var out = {};
    m.boards.forEach(function (b) { out[b.id] = b; });
    return out;
  }

  // The loops in effect: the timeline segment holding `now`; past its end (offline longer
  // than the lookahead) the last known segment goes on.
  function loopsAt(m, now) {
    var segs = m.timeline || [];
    for (var i = 0; i < segs.length; i++) {
      if (within(segs[i], now)) return segs[i].loops;
    }
    return segs.length ? segs[segs.length - 1].loops : ["default"];
  }

  function urgentAt(m, now) {
    var byId = boardsById(m);
    return (m.urgent || []).map(function (id) { return byId[id]; })
      .filter(function (b) { return b && within(b, now) && state.pages[b.content]; });
  }

  function playlistAt(m, now) {
    var byId = boardsById(m), out = [];
    loopsAt(m, now).forEach(function (key) {
      (m.loops[key] || []).forEach(function (item) {
        var b = byId[item.board];
        if (b && within(b, now) && state.pages[b.content]) {
          out.push({ id: b.id, board: b, seconds: item.seconds || b.seconds, speak: !!item.speak });
        }
      });
    });
    return out;
  }

  function signatureAt(m, now) {
    var urgent = urgentAt(m, now).map(function (b) { return b.id; });
    if (urgent.length) return "u:" + urgent.join(",");
    return m.version + ":" + playlistAt(m, now).map(function (x) { return x.id; }).join(",");
  }

  // ------------------------------------------------------------------ board content

  function remember(sha, html) {
    state.pages[sha] = html;
    try { localStorage.setItem(pageKey + sha, html); } catch (e) { /* quota: memory only */ }
  }

  function recall(sha) {
    if (state.pages[sha]) return true;
    try {
      var html = localStorage.getItem(pageKey + sha);
      if (html) { state.pages[sha] = html; return true; }
    } catch (e) { /* unreadable: fetch again */ }
    return false;
  }

  function fetchBoard(b) {
    var headers = {};
    if (cfg.token) headers["Authorization"] = "Bearer " + cfg.token;
    return fetch(b.href, { headers: headers }).then(function (res) {
      if (!res.ok) throw new Error("board " + res.status);
      return res.text();
    }).then(function (html) { remember(b.content, html); });
  }

  // Boards no manifest needs any more leave localStorage.
  function prune(m) {
    var keep = {};
    m.boards.forEach(function (b) { keep[pageKey + b.content] = true; });
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var k = localStorage.key(i);
        if (k && k.indexOf(pageKey) === 0 && !keep[k]) localStorage.removeItem(k);
      }
    } catch (e) { /* nothing to do */ }
    Object.keys(state.pages).forEach(function (sha) { if (!keep[pageKey + sha]) delete state.pages[sha]; });
    var files = {};
    m.boards.forEach(function (b) { (b.files || []).forEach(function (f) { files[f.content] = true; }); });
    Object.keys(fileUrls).forEach(function (sha) {
      if (files[sha]) return;
      fileUrls[sha].then(function (url) { URL.revokeObjectURL(url); }, function () {});
      delete fileUrls[sha];
    });
  }

  // ------------------------------------------------------------------ manifests

  function accept(manifest, fromCache) {
    var missing = manifest.boards.filter(function (b) { return !recall(b.content); });
    if (missing.length && !fromCache) {
      return Promise.all(missing.map(fetchBoard)).then(function () { install(manifest); });
    }
    install(manifest);
    return Promise.resolve();
  }

  // ?board=<id> starts the loop at that board (previews, screenshots).
  var startBoard = new URLSearchParams(location.search).get("board");

  function install(manifest) {
    if (!state.manifest) {
      state.manifest = manifest;
      var first = playlistAt(manifest, Date.now()).findIndex(function (x) { return x.id === startBoard; });
      state.signature = "";
      show(first > 0 ? first : 0);
    }
    else { state.pending = manifest; }  // swapped in at the next rotation
    clearTimeout(state.changeTimer);
    if (manifest.next_change_at) {
      var wait = Date.parse(manifest.next_change_at) - Date.now() + 1000;
      if (wait > 0 && wait < 2147483647) state.changeTimer = setTimeout(fetchManifest, wait);
    }
    try { localStorage.setItem(storeKey, JSON.stringify(manifest)); } catch (e) { /* quota: keep playing */ }
    noteUrgent(manifest, "received");
    if (state.index < 0 || state.signature.indexOf("u:") === 0 || signatureAt(manifest, Date.now()).indexOf("u:") === 0) {
      show(0);  // nothing shown yet, or an urgent notice starts or ends: at once
    }
  }

  // A new player bundle or another layout needs a fresh page: reload at the next rotation.
  function bundleOf(m) { return (m.assets || []).map(function (a) { return a.sha256; }).join(","); }
  function noteUpgrade(m) {
    if (state.bundle === undefined) state.bundle = bundleOf(m);
    else if (bundleOf(m) !== state.bundle) state.reloadPending = true;
    if (!document.body.classList.contains("layout-" + m.layout)) state.reloadPending = true;
  }

  function fetchManifest() {
    var headers = {};
    if (state.etag) headers["If-None-Match"] = state.etag;
    if (cfg.token) headers["Authorization"] = "Bearer " + cfg.token;
    return fetch(cfg.manifestUrl, { headers: headers, cache: "no-store" }).then(function (res) {
      state.lastAnswer = res.status;  // the server's last word, for diagnosis
      if (res.status === 401) { needsSetup(); return; }
      if (state.needsSetup && (res.ok || res.status === 304)) { location.reload(); return; }
      if (!cfg.socket) setLink(res.ok || res.status === 304);
      if (res.status === 304) return;
      if (!res.ok) throw new Error("manifest " + res.status);
      var etag = res.headers.get("ETag");
      return res.json().then(function (m) {
        noteUpgrade(m);
        return accept(m, false).then(function () { state.etag = etag; });
      });
    }, function (err) { state.lastAnswer = "unreachable"; throw err; })
      .catch(function () { if (!cfg.socket) setLink(false); });
  }

  // A nudge names the area that changed and its new revision: a manifest that already
  // lists that revision is current, and nothing is fetched.
  function onNudge(nudge) {
    var m = state.pending || state.manifest;
    if (m && nudge && m.sources && nudge.area !== undefined &&
        (m.sources[String(nudge.area)] || 0) >= nudge.revision) return;
    fetchManifest();
  }

  // The server no longer accepts this screen's key (it was replaced or revoked): stop the
  // loop and say so across the hall. Only a 401 leads here; an unreachable server or a 5xx
  // keeps the cached loop playing. The poll goes on, and reloads if the key works again.
  function needsSetup() {
    if (state.needsSetup) return;
    state.needsSetup = true;
    clearTimeout(state.timer);
    clearTimeout(state.changeTimer);
    clearInterval(state.clock);
    if (state.socket) state.socket.close();
    var message = document.getElementById("needs-setup").content.cloneNode(true);
    message.querySelector(".setup-site").textContent =
      state.manifest ? state.manifest.site.name : document.getElementById("site-name").textContent;
    translate(message);
    document.body.className = "needs-setup";
    document.body.replaceChildren(message);
  }

  // ------------------------------------------------------------------ receipts

  // Receipts for urgent notices: "received" when the manifest holding one arrives,
  // "shown" when it is on screen. Each is sent once; unsent ones wait in localStorage.
  function loadReceipts() {
    try { return JSON.parse(localStorage.getItem(receiptKey)) || { sent: {}, queue: [] }; }
    catch (e) { return { sent: {}, queue: [] }; }
  }
  function saveReceipts(r) {
    try { localStorage.setItem(receiptKey, JSON.stringify(r)); } catch (e) { /* memory only */ }
  }
  var receipts = loadReceipts();

  function noteReceipt(id, what) {
    var key = id + ":" + what;
    if (receipts.sent[key]) return;
    receipts.sent[key] = true;
    receipts.queue.push({ notice: Number(id.slice(1)), state: what, at: new Date().toISOString() });
    saveReceipts(receipts);
    flushReceipts();
  }

  function noteUrgent(m, what) {
    (m.urgent || []).forEach(function (id) { noteReceipt(id, what); });
  }

  function flushReceipts() {
    if (!receipts.queue.length || state.flushing) return;
    var batch = receipts.queue.slice(0, 100);
    var done = function () {
      receipts.queue = receipts.queue.slice(batch.length);
      saveReceipts(receipts);
      state.flushing = false;
      if (receipts.queue.length) flushReceipts();
    };
    state.flushing = true;
    if (state.socket && state.socket.connected) {
      state.socket.timeout(10000).emit("receipt", { receipts: batch }, function (err, answer) {
        if (!err && answer && answer.ok) done(); else state.flushing = false;
      });
      return;
    }
    var headers = { "Content-Type": "application/json" };
    if (cfg.token) headers["Authorization"] = "Bearer " + cfg.token;
    fetch(cfg.receiptsUrl || "/api/v1/device/receipts", {
      method: "POST", headers: headers, body: JSON.stringify({ receipts: batch })
    }).then(function (res) {
      if (res.ok || res.status === 422) done(); else state.flushing = false;
    }, function () { state.flushing = false; });
  }

  // ------------------------------------------------------------------ drawing

  function renderDots(count, active) {
    dots.innerHTML = "";
    for (var i = 0; i < count; i++) {
      var s = document.createElement("span");
      if (i === active) s.className = "on";
      dots.appendChild(s);
    }
  }

  // Each screen draws its own QR code into the board's slot (the board is shared).
  function drawQr(url) {
    var slot = stage.querySelector(".qr-slot");
    if (!slot || !url || !window.qrcode) return;
    var code = window.qrcode(0, "M");
    code.addData(url);
    code.make();
    var n = code.getModuleCount(), quiet = 4, size = n + 2 * quiet, d = "";
    for (var y = 0; y < n; y++) {
      for (var x = 0; x < n; x++) {
        if (!code.isDark(y, x)) continue;
        var start = x;
        while (x + 1 < n && code.isDark(y, x + 1)) x++;
        d += "M" + (start + quiet) + " " + (y + quiet) + "h" + (x - start + 1) + "v1h-" + (x - start + 1) + "z";
      }
    }
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "qr");
    svg.setAttribute("viewBox", "0 0 " + size + " " + size);
    svg.setAttribute("shape-rendering", "crispEdges");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("qr", "二维码"));
    var bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", size); bg.setAttribute("height", size); bg.setAttribute("fill", "#fff");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d); path.setAttribute("fill", "#000");
    svg.appendChild(bg); svg.appendChild(path);
    slot.replaceWith(svg);
  }

  // A manifest that arrived meanwhile becomes the current one (at a rotation, or when a
  // kiosk visitor moves to another view).
  function adopt() {
    if (state.pending) { state.manifest = state.pending; state.pending = null; prune(state.manifest); }
  }

  function show(index) {
    clearTimeout(state.timer);
    var m = state.manifest, now = Date.now();
    // A person browsing a kiosk keeps it until they leave or it falls idle; only an
    // urgent notice takes the screen from them.
    if (state.browsing) {
      if (!m || !urgentAt(m, now).length) return;
      state.browsing.leave();
    }
    hush();  // a new board: whatever was being read stops
    if (state.reloadPending) { location.reload(); return; }
    adopt();
    m = state.manifest;
    if (!m) return;
    dress(m);
    localise(m);
    state.signature = signatureAt(m, now);
    var urgent = urgentAt(m, now);
    document.body.classList.toggle("urgent-on", urgent.length > 0);
    var list = urgent.length
      ? urgent.map(function (b) { return { id: b.id, board: b, seconds: b.seconds, speak: (m.speak || []).indexOf(b.id) >= 0 }; })
      : playlistAt(m, now);
    state.playing = list;
    if (!list.length) { state.index = -1; return; }
    state.index = index % list.length;
    var item = list[state.index], board = item.board;
    // Board HTML comes from the shared templates: escaped, and sanitised by the server.
    stage.innerHTML = state.pages[board.content];
    translate(stage);
    showFiles(stage, board);
    drawQr(board.qr_url);
    stage.setAttribute("data-board-id", board.id);
    stage.setAttribute("data-version", m.version);
    fillAside(m, board, urgent.length > 0);
    renderDots(urgent.length ? 0 : list.length, state.index);
    setTicker(m.ticker);
    if (board.kind === "urgent") noteReceipt(board.id, "shown");
    var seconds = cfg.boardSeconds || item.seconds || 15;
    var sheets = paginate(), sheet = 0;
    stage.removeAttribute("data-sheet");
    stage.removeAttribute("data-sheets");
    if (sheets) showSheet(sheets, 0);
    if (item.speak && board.audio) {
      // Read aloud (the entry or notice asked for it): the board stays until it is read.
      speak(board.audio);
      seconds = Math.max(seconds, Math.ceil(board.audio.seconds / (sheets ? sheets.pages.length : 1)) + 1);
    }
    var turn = function () {
      if (sheets && sheet + 1 < sheets.pages.length) {
        showSheet(sheets, ++sheet);
        state.timer = setTimeout(turn, seconds * 1000);
      } else {
        show(state.index + 1);
      }
    };
    state.timer = setTimeout(turn, seconds * 1000);
  }

  // ------------------------------------------------------------------ second region

  // A tall screen's second region (the layout's `aside`): the echo wall's latest answers
  // under every other board, as many whole answers as fit. Not under the echo wall
  // itself, nor under an urgent notice.
  var aside = document.getElementById("aside");
  function fillAside(m, board, urgentOn) {
    if (!aside) return;
    var now = Date.now(), echo = null;
    if (!urgentOn && board.kind !== "echo_wall") {
      echo = m.boards.filter(function (b) {
        return b.kind === "echo_wall" && within(b, now) && state.pages[b.content];
      })[0] || null;
    }
    aside.hidden = !echo;
    document.body.classList.toggle("aside-on", !!echo);
    if (!echo) { aside.innerHTML = ""; aside.removeAttribute("data-content"); return; }
    if (aside.getAttribute("data-content") === echo.content) return;
    aside.innerHTML = state.pages[echo.content];
    translate(aside);
    aside.setAttribute("data-content", echo.content);
    var body = aside.querySelector(".board-body");
    if (!body) return;
    var limit = body.getBoundingClientRect().bottom;
    Array.prototype.forEach.call(aside.querySelectorAll(".echo-entry"), function (li) {
      li.hidden = li.getBoundingClientRect().bottom > limit + 1;
    });
  }

  // ------------------------------------------------------------------ theme

  // The area's theme (server/domain/themes.py), applied with the manifest it came in:
  // colours as the CSS variables of player.css, the type scale, the header's wording and
  // emblem. Contrast was checked when the theme was saved.
  var dressed = "";
  function dress(m) {
    var t = m.theme || {}, key = JSON.stringify([t, m.site.name]);
    if (key === dressed) return;
    dressed = key;
    var root = document.documentElement.style, colours = t.colours || {};
    Object.keys(colours).forEach(function (name) {
      if (/^#[0-9a-fA-F]{6}$/.test(colours[name])) root.setProperty("--" + name.replace(/_/g, "-"), colours[name]);
    });
    root.setProperty("--scale", String(Number(t.scale) || 1));
    var header = document.getElementById("brand-header");
    header.textContent = t.header || "";
    header.hidden = !t.header;
    document.getElementById("site-name").textContent = m.site.name;
    var emblem = document.getElementById("emblem");
    if (t.emblem && t.emblem.indexOf("data:image/png;base64,") === 0) {
      var img = emblem.querySelector("img") || emblem.appendChild(document.createElement("img"));
      img.alt = "";
      img.src = t.emblem;
      emblem.classList.add("has-image");
    } else {
      emblem.classList.remove("has-image");
    }
  }

  // ------------------------------------------------------------------ ticker

  // The ticker moves at a fixed reading speed, however long its text: a short line is not
  // dragged, a long one not rushed. A tap pauses it and a second tap lets it go on
  // (moving text a person can reach must be stoppable).
  var TICKER_CHARS_PER_SECOND = 4;
  var tickerText = document.getElementById("ticker-text");
  function paceTicker() {
    var charPx = parseFloat(getComputedStyle(tickerText).fontSize) || 34;
    // The text starts just off the right edge and ends just off the left one.
    var travel = tickerText.offsetWidth;
    tickerText.style.animationDuration = (travel / (TICKER_CHARS_PER_SECOND * charPx)).toFixed(2) + "s";
  }
  function setTicker(text) {
    if (tickerText.textContent === text) return;
    tickerText.textContent = text;
    paceTicker();
  }
  // The text's width changes when the web font arrives and with the window.
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(paceTicker);
  if (window.ResizeObserver) new ResizeObserver(paceTicker).observe(tickerText.parentNode);
  else window.addEventListener("resize", paceTicker);
  tickerText.parentNode.addEventListener("click", function () {
    tickerText.parentNode.classList.toggle("paused");
  });

  // ------------------------------------------------------------------ paging

  // Content taller than the board is shown page by page, never scrolled: a table's rows
  // (its header on every page), a notice's paragraphs and list items. Each page stays for
  // the board's own time; "第 2/5 页" says where the reader is.
  function paginate() {
    var body = stage.querySelector(".board-body"), inner = stage.querySelector(".scroller");
    if (!body || !inner) return null;
    var table = inner.querySelector("table.data"), blocks;
    if (table) {
      // A table too wide for the board wraps its cells instead of shrinking its type.
      if (inner.scrollWidth > body.clientWidth + 1) table.classList.add("wrap");
      blocks = Array.prototype.slice.call(table.tBodies[0] ? table.tBodies[0].rows : []);
      // Photos and document pages follow the rows, each a page block of its own.
      Array.prototype.forEach.call(inner.children, function (el) {
        if (el.tagName === "FIGURE") blocks.push(el);
      });
    } else {
      blocks = [];
      Array.prototype.forEach.call(inner.children, function (el) {
        if (el.tagName === "UL" || el.tagName === "OL") {
          var first = el.tagName === "OL" ? (parseInt(el.getAttribute("start"), 10) || 1) : 1;
          Array.prototype.forEach.call(el.children, function (li, i) {
            if (el.tagName === "OL") li.value = first + i;  // numbering survives hidden items
            blocks.push(li);
          });
        } else {
          blocks.push(el);
        }
      });
    }
    if (inner.scrollHeight <= body.clientHeight + 4 || blocks.length < 2) return null;
    var room = body.clientHeight - (table && table.tHead ? table.tHead.offsetHeight : 0) - 56;  // 56: the page number
    var top = function (el) { return el.getBoundingClientRect().top; };
    var bottom = function (el) { return el.getBoundingClientRect().bottom; };
    var pages = [], current = [], pageTop = 0;
    blocks.forEach(function (el) {
      if (current.length && bottom(el) - pageTop > room) { pages.push(current); current = []; }
      if (!current.length) pageTop = top(el);
      current.push(el);
    });
    if (current.length) pages.push(current);
    return pages.length > 1 ? { blocks: blocks, pages: pages, body: body } : null;
  }

  function showSheet(sheets, k) {
    var on = sheets.pages[k];
    sheets.blocks.forEach(function (el) { el.style.display = on.indexOf(el) >= 0 ? "" : "none"; });
    // A table whose rows are all on other pages (a page of photos) is not shown on this one.
    var table = stage.querySelector(".scroller > table.data");
    if (table && table.tBodies[0]) {
      var rowShown = Array.prototype.some.call(table.tBodies[0].rows, function (r) { return r.style.display !== "none"; });
      table.style.display = rowShown ? "" : "none";
    }
    // A list whose items are all on other pages takes no room on this one.
    Array.prototype.forEach.call(stage.querySelectorAll(".scroller > ul, .scroller > ol"), function (list) {
      var shown = Array.prototype.some.call(list.children, function (li) { return li.style.display !== "none"; });
      list.style.display = shown ? "" : "none";
    });
    var label = sheets.body.querySelector(".sheet-no");
    if (!label) {
      label = document.createElement("p");
      label.className = "sheet-no";
      sheets.body.appendChild(label);
    }
    label.textContent = t("sheet", "第 %(page)s/%(pages)s 页", { page: k + 1, pages: sheets.pages.length });
    stage.setAttribute("data-sheet", String(k + 1));
    stage.setAttribute("data-sheets", String(sheets.pages.length));
  }

  // ------------------------------------------------------------------ attachments

  // A board names its photos, PDF pages and video by sha256 (data-file); the manifest
  // lists each with its address. Under the agent that is its local cache; the server's
  // player needs the screen's key, so each file is fetched once and kept as a blob.
  var fileUrls = {};
  function fileSource(f) {
    if (!cfg.token) return Promise.resolve(f.href);
    if (fileUrls[f.content]) return fileUrls[f.content];
    var asked = fetch(f.href, { headers: { "Authorization": "Bearer " + cfg.token } }).then(function (res) {
      if (!res.ok) throw new Error("file " + res.status);
      return res.blob();
    }).then(function (blob) { return URL.createObjectURL(blob); });
    asked.catch(function () { delete fileUrls[f.content]; });  // asked again next time
    return (fileUrls[f.content] = asked);
  }

  function showFiles(root, board) {
    var listed = {};
    (board.files || []).forEach(function (f) { listed[f.content] = f; });
    var body = root.querySelector(".board-body");
    // A photo or page fits the board: never taller than its text area (less the page number).
    var room = body ? Math.max(body.clientHeight - 60, 120) : null;
    var all = root.querySelectorAll("[data-file]");
    Array.prototype.forEach.call(all, function (el) { if (room) el.style.maxHeight = room + "px"; });
    // Under a short text the first photo takes the room left on the first page, when that
    // is a fair size, rather than waiting alone for the next page.
    if (room && all.length) {
      var left = body.getBoundingClientRect().bottom - all[0].getBoundingClientRect().top - 60;
      if (left >= room * 0.45 && left < room) all[0].style.maxHeight = Math.floor(left) + "px";
    }
    Array.prototype.forEach.call(all, function (el) {
      var f = listed[el.getAttribute("data-file")];
      if (!f) { el.closest("figure").hidden = true; return; }
      var poster = listed[el.getAttribute("data-poster")];
      if (poster) fileSource(poster).then(function (url) { el.poster = url; }, function () {});
      fileSource(f).then(function (url) {
        el.src = url;
        if (el.tagName === "VIDEO") {
          el.muted = true;  // a hall screen never plays a video's sound
          var playing = el.play();
          if (playing && playing.catch) playing.catch(function () {});
        }
      }, function () { el.closest("figure").hidden = true; });
    });
  }

  // ------------------------------------------------------------------ read aloud

  // A board's read-aloud audio as something an <audio> can play: under the agent a local
  // path; on the server's player the file needs the screen's key, so it is fetched once.
  var audioUrls = {};
  function audioSource(a) {
    if (!cfg.token) return Promise.resolve(a.href);
    if (audioUrls[a.content]) return Promise.resolve(audioUrls[a.content]);
    return fetch(a.href, { headers: { "Authorization": "Bearer " + cfg.token } }).then(function (res) {
      if (!res.ok) throw new Error("audio " + res.status);
      return res.blob();
    }).then(function (blob) { return (audioUrls[a.content] = URL.createObjectURL(blob)); });
  }

  // One voice per screen: a board read aloud on signage, or the kiosk's 朗读 button. A new
  // board (or a second tap) stops it. `ended` runs when it stops by itself or cannot play
  // (a browser that refuses sound without a tap stays silent and goes on).
  var voice = null;
  function speak(a, ended) {
    hush();
    var playing = voice = new Audio();
    var done = function () { if (voice === playing) { voice = state.voice = null; if (ended) ended(); } };
    audioSource(a).then(function (url) {
      if (voice !== playing) return;
      playing.src = url;
      playing.addEventListener("ended", done);
      return playing.play();
    }).catch(done);
    state.voice = playing;
    return playing;
  }
  function hush() {
    if (voice) { voice.pause(); voice = null; }
    state.voice = null;
  }

  // What the touch kiosk's browser (kiosk.js) uses of the player.
  state.api = {
    show: show, adopt: adopt, drawQr: drawQr, paginate: paginate, showSheet: showSheet, within: within,
    boardsById: boardsById, setTicker: setTicker, speak: speak, hush: hush, t: t, translate: translate,
    showFiles: showFiles
  };

  function connectSocket() {
    var s = cfg.socket;
    var sock = io(s.url + s.namespace, {
      path: s.path, auth: { token: cfg.token }, transports: ["websocket", "polling"],
      reconnectionDelayMax: 30000
    });
    sock.on("connect", function () { setLink(true); fetchManifest(); flushReceipts(); });
    // The server drops a screen's sockets when its credentials change, and refuses a
    // revoked key: ask over HTTP, whose 401 is what decides (see needsSetup).
    sock.on("disconnect", function (reason) {
      setLink(false);
      if (reason === "io server disconnect") {
        fetchManifest().then(function () { if (!state.needsSetup) sock.connect(); });
      }
    });
    sock.on("connect_error", function (err) {
      setLink(false);
      if (err && err.message === "unauthorized") fetchManifest();
    });
    sock.on("manifest_changed", onNudge);
    state.socket = sock;
  }

  try {
    var saved = localStorage.getItem(storeKey);
    if (saved) accept(JSON.parse(saved), true);
  } catch (e) { /* a broken copy is simply ignored */ }
  tick();
  state.clock = setInterval(tick, 1000);
  fetchManifest();
  if (cfg.socket && window.io) connectSocket();
  setInterval(function () { fetchManifest(); flushReceipts(); }, (cfg.pollSeconds || 60) * 1000);
})();
