/* Sunwall player: rotates the boards of a manifest; the same file runs on the server's
   /player page and from a kiosk agent's local cache. No framework, no network fonts. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("player-config").textContent);
  var stage = document.getElementById("stage");
  var dots = document.getElementById("dots");
  var linkState = document.getElementById("link-state");
  var storeKey = "sunwall.manifest." + (cfg.cacheKey || "default");
  var state = { manifest: null, pending: null, etag: null, index: -1, timer: null, online: false };
  window.sunwallPlayer = state;

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
    document.getElementById("clock-date").textContent =
      p.year + "年" + p.month + "月" + p.day + "日 星期" + WEEK[p.weekday];
    document.getElementById("clock-time").textContent = p.hour + ":" + p.minute + ":" + p.second;
  }

  // ?board=<id> starts the loop at that board (previews, screenshots).
  var startBoard = new URLSearchParams(location.search).get("board");

  function accept(manifest) {
    if (!state.manifest) {
      state.manifest = manifest;
      var first = manifest.boards.findIndex(function (b) { return b.id === startBoard; });
      show(first > 0 ? first : 0);
    }
    else { state.pending = manifest; }  // swapped in at the next rotation
    document.getElementById("site-name").textContent = manifest.site.name;
    // The loop changes by itself when an item starts or ends: ask again just after.
    clearTimeout(state.changeTimer);
    if (manifest.next_change_at) {
      var wait = Date.parse(manifest.next_change_at) - Date.now() + 1000;
      if (wait > 0 && wait < 2147483647) state.changeTimer = setTimeout(fetchManifest, wait);
    }
    try { localStorage.setItem(storeKey, JSON.stringify(manifest)); } catch (e) { /* quota: keep playing */ }
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
      state.etag = res.headers.get("ETag");
      return res.json().then(function (m) { noteUpgrade(m); accept(m); });
    }, function (err) { state.lastAnswer = "unreachable"; throw err; })
      .catch(function () { if (!cfg.socket) setLink(false); });
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
    document.body.className = "needs-setup";
    document.body.replaceChildren(message);
  }

  function renderDots(count, active) {
    dots.innerHTML = "";
    for (var i = 0; i < count; i++) {
      var s = document.createElement("span");
      if (i === active) s.className = "on";
      dots.appendChild(s);
    }
  }

  function show(index) {
    clearTimeout(state.timer);
    if (state.reloadPending) { location.reload(); return; }
    if (state.pending) { state.manifest = state.pending; state.pending = null; }
    // A board whose posting period ended is skipped even while the server is out of reach.
    var m = state.manifest, now = Date.now();
    var boards = m.boards.filter(function (b) { return !b.until || Date.parse(b.until) > now; });
    if (!boards.length) return;
    state.index = index % boards.length;
    var board = boards[state.index];
    // Board HTML comes from the shared templates: escaped, and sanitised by the server.
    stage.innerHTML = board.html;
    stage.setAttribute("data-board-id", board.id);
    stage.setAttribute("data-version", m.version);
    document.getElementById("ticker-text").textContent = m.ticker;
    renderDots(boards.length, state.index);
    var seconds = scrollLongContent(cfg.boardSeconds || board.duration || 15);
    state.timer = setTimeout(function () { show(state.index + 1); }, seconds * 1000);
  }

  // Content taller than the board scrolls slowly once, after a pause to start reading;
  // the board then stays long enough for it (up to 2 minutes).
  var SCROLL_PX_PER_SECOND = 30, PAUSE_SECONDS = 4;
  function scrollLongContent(seconds) {
    var body = stage.querySelector(".board-body"), inner = stage.querySelector(".scroller");
    if (!body || !inner) return seconds;
    // A wide table shrinks its type (down to 18 px) rather than losing columns at the edge.
    var table = inner.querySelector("table.data");
    var size = table ? parseFloat(getComputedStyle(table).fontSize) : 0;
    while (table && inner.scrollWidth > body.clientWidth + 1 && size > 18) {
      size -= 2;
      table.style.fontSize = size + "px";
    }
    var extra = inner.scrollHeight - body.clientHeight;
    if (extra <= 4) return seconds;
    body.classList.add("overflowing");
    var travel = extra / SCROLL_PX_PER_SECOND;
    var total = Math.min(120, Math.max(seconds, travel + 2 * PAUSE_SECONDS));
    var moving = Math.max(1, total - 2 * PAUSE_SECONDS);
    if (inner.animate) {
      inner.animate([{ transform: "translateY(0)" }, { transform: "translateY(" + (-extra) + "px)" }],
        { duration: moving * 1000, delay: PAUSE_SECONDS * 1000, fill: "forwards", easing: "linear" });
    }
    return total;
  }

  function connectSocket() {
    var s = cfg.socket;
    var sock = io(s.url + s.namespace, {
      path: s.path, auth: { token: cfg.token }, transports: ["websocket", "polling"],
      reconnectionDelayMax: 30000
    });
    sock.on("connect", function () { setLink(true); fetchManifest(); });
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
    sock.on("manifest_changed", function () { fetchManifest(); });
    state.socket = sock;
  }

  tick();
  state.clock = setInterval(tick, 1000);
  try {
    var saved = localStorage.getItem(storeKey);
    if (saved) accept(JSON.parse(saved));
  } catch (e) { /* a broken copy is simply ignored */ }
  fetchManifest();
  if (cfg.socket && window.io) connectSocket();
  setInterval(fetchManifest, (cfg.pollSeconds || 60) * 1000);
})();
