/* Urgent notices in the admin pages.

   - Reviewers: a live banner "有新的紧急通知待审核：<title> [立即审核]" when an urgent notice
     is submitted in their areas (Socket.IO namespace /admin, event `urgent_submitted`).
   - The delivery page: `watch` the notice, refetch the delivery JSON on each `receipt`,
     and every 20 s anyway (the fallback when the socket is down).
   - The draft form: the quick end-time buttons (1/3/6/12/24 hours) and the small preview.

   Everything fails quietly: without the socket the pages work as plain pages. Texts come
   from the script tag's data attributes (translated by the server). No user text is ever
   written as HTML. */
(function () {
  "use strict";

  var me = document.currentScript || document.querySelector("script[src*='urgent_live.js']");
  var data = (me && me.dataset) || {};
  var delivery = document.getElementById("urgent-delivery");
  var form = document.getElementById("urgent-form");

  if (form) draftForm(form);
  if (delivery) deliveryPage(delivery);
  if (data.review === "1" || delivery) withSocketIo(connect);

  // ------------------------------------------------------------------ socket

  function withSocketIo(then) {
    if (window.io) { then(); return; }
    if (!data.socketio) return;
    var s = document.createElement("script");
    s.src = data.socketio;
    s.onload = then;
    s.onerror = function () { /* no live updates: the pages still work */ };
    document.head.appendChild(s);
  }

  function connect() {
    if (!window.io) return;
    var socket;
    try {
      socket = window.io("/admin", { reconnectionDelayMax: 30000, timeout: 10000 });
    } catch (e) { return; }
    socket.on("connect_error", function () { /* refused or offline: stay quiet */ });
    socket.on("connect", function () {
      if (!delivery) return;
      // Receipts that came before the watch began are fetched once it has.
      socket.emit("watch", { notice: Number(delivery.dataset.notice) }, function () {
        if (delivery.refreshSoon) delivery.refreshSoon();
      });
    });
    socket.on("urgent_submitted", banner);
    socket.on("receipt", function (r) {
      if (delivery && r && r.notice === Number(delivery.dataset.notice) && delivery.refreshSoon) delivery.refreshSoon();
    });
  }

  // ------------------------------------------------------------------ reviewer banner

  function banners() {
    var box = document.getElementById("urgent-banners");
    if (box) return box;
    box = document.createElement("div");
    box.id = "urgent-banners";
    box.style.cssText = "position:fixed;top:64px;left:50%;transform:translateX(-50%);z-index:1000;" +
      "display:flex;flex-direction:column;gap:8px;width:min(720px,94vw);";
    document.body.appendChild(box);
    return box;
  }

  function banner(n) {
    if (!n || typeof n.url !== "string" || n.url.indexOf("/admin/urgent/") !== 0) return;
    if (window.location.pathname === n.url) return;  // already looking at it
    if (document.querySelector('[data-urgent-banner="' + Number(n.id) + '"]')) return;
    var item = document.createElement("div");
    item.setAttribute("role", "alert");
    item.dataset.urgentBanner = String(Number(n.id));
    item.style.cssText = "display:flex;align-items:center;gap:14px;background:#b3161b;color:#fff;" +
      "padding:14px 18px;border-radius:10px;box-shadow:0 4px 16px rgba(0,0,0,.3);font-size:18px;";
    var text = document.createElement("span");
    text.style.cssText = "flex:1;font-weight:700;overflow-wrap:anywhere;";
    text.textContent = (data.textNew || "有新的紧急通知待审核：") + String(n.title || "") +
      (n.area ? "（" + String(n.area) + "）" : "");
    var go = document.createElement("a");
    go.href = n.url;
    go.textContent = data.textGo || "立即审核";
    go.style.cssText = "background:#fff;color:#b3161b;font-weight:700;padding:8px 18px;border-radius:6px;" +
      "text-decoration:none;white-space:nowrap;";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", data.textClose || "关闭");
    close.style.cssText = "background:none;border:0;color:#fff;font-size:26px;line-height:1;cursor:pointer;padding:0 4px;";
    close.addEventListener("click", function () { item.remove(); });
    item.append(text, go, close);
    var box = banners();
    box.prepend(item);
    while (box.children.length > 3) box.lastChild.remove();
  }

  // ------------------------------------------------------------------ delivery page

  function deliveryPage(section) {
    var url = section.dataset.url, timer = null, asked = 0;
    var tag = document.getElementById("internal-tag");

    function cell(text, cls) {
      var td = document.createElement("td");
      td.textContent = text;
      if (cls) td.className = cls;
      return td;
    }

    function rows(tbody, screens) {
      var out = screens.map(function (s) {
        var tr = document.createElement("tr"), name = cell(s.name);
        if (s.internal && tag) { name.append(" "); name.append(tag.content.cloneNode(true)); }
        tr.append(name, cell(s.site), cell(s.area), cell(s.state_text, "st-" + s.state));
        return tr;
      });
      if (!out.length) {
        var tr = document.createElement("tr"), td = cell(tbody.dataset.empty || "", "muted");
        td.colSpan = 4;
        tr.append(td);
        out = [tr];
      }
      tbody.replaceChildren.apply(tbody, out);
    }

    function text(id, value) {
      var el = document.getElementById(id);
      if (el) el.textContent = String(value);
    }

    function render(d) {
      if (!d || !d.screens) return;
      var done = d.screens.filter(function (s) { return s.state === "received" || s.state === "shown"; });
      var waiting = d.screens.filter(function (s) { return s.state !== "received" && s.state !== "shown"; });
      text("delivery-summary", d.summary);
      text("delivery-online", d.online);
      text("delivery-expected", d.expected);
      text("pending-count", waiting.length);
      text("delivered-count", done.length);
      var bar = document.getElementById("delivery-bar");
      if (bar) bar.style.width = (d.expected ? (100 * d.received / d.expected) : 0) + "%";
      rows(document.getElementById("pending-rows"), waiting);
      rows(document.getElementById("delivered-rows"), done);
    }

    function refresh() {
      var mine = ++asked;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (mine === asked) render(d); })
        .catch(function () { /* offline: try again at the next tick */ });
    }

    // Fetching keeps the sign-in alive, so a page left open stops asking once nobody has
    // touched it for longer than the server's idle limit (2 hours); hidden tabs wait.
    var touched = Date.now(), IDLE_MS = 110 * 60 * 1000;
    ["pointerdown", "keydown", "scroll", "mousemove"].forEach(function (name) {
      window.addEventListener(name, function () { touched = Date.now(); }, { passive: true });
    });
    function wanted() { return Date.now() - touched < IDLE_MS && document.visibilityState !== "hidden"; }

    section.refreshSoon = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { if (wanted()) refresh(); }, 300);
    };
    setInterval(function () { if (wanted()) refresh(); }, 20000);
    document.addEventListener("visibilitychange", function () { if (wanted()) refresh(); });
  }

  // ------------------------------------------------------------------ draft form

  // Times are the township's local wall-clock ("YYYY-MM-DDTHH:MM", as the inputs hold them);
  // arithmetic is done on them as if they were UTC, so the browser's own zone never matters.
  function parseLocal(v) {
    var m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(v || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) : null;
  }
  function formatLocal(ms) {
    var d = new Date(ms), p = function (n) { return String(n).padStart(2, "0"); };
    return d.getUTCFullYear() + "-" + p(d.getUTCMonth() + 1) + "-" + p(d.getUTCDate()) + "T" +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes());
  }

  function draftForm(f) {
    var loaded = Date.now(), serverNow = parseLocal(f.dataset.now);
    var starts = f.querySelector("input[name=starts_at]"), ends = f.querySelector("input[name=ends_at]");
    document.querySelectorAll(".quick-hours button[data-hours]").forEach(function (b) {
      b.addEventListener("click", function () {
        var from = parseLocal(starts && starts.value);
        if (from === null && serverNow !== null) from = serverNow + (Date.now() - loaded);
        if (from === null || !ends) return;
        ends.value = formatLocal(from + Number(b.dataset.hours) * 3600 * 1000);
        ends.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });

    var title = f.querySelector("[name=title]"), body = f.querySelector("[name=body]");
    var showTitle = document.querySelector("[data-preview=title]"), showBody = document.querySelector("[data-preview=body]");
    function preview() {
      if (showTitle && title) showTitle.textContent = title.value.trim() || showTitle.dataset.empty || "";
      if (showBody && body) {
        showBody.replaceChildren.apply(showBody, body.value.split("\n").filter(function (line, i, all) {
          return line.trim() || (i > 0 && i < all.length - 1);
        }).map(function (line) {
          var p = document.createElement("p");
          p.textContent = line;
          return p;
        }));
      }
    }
    if (title) title.addEventListener("input", preview);
    if (body) body.addEventListener("input", preview);
  }
})();
