/* Sunwall touch kiosk (查询机): a tap turns the attract loop into a catalogue browser.

   Home shows the catalogue's categories as big tiles, a category its items, an item its
   board page by page with its QR code to go on reading on a phone. 返回 and 首页 stay in
   the same place on every view; 大字 enlarges the text, 朗读 reads the board aloud where
   the manifest lists its audio. Left alone for the manifest's `kiosk.idle_seconds`, with
   the seconds counted down on screen, the kiosk goes back to its loop. Everything comes
   from the manifest and the boards the player already holds, so it browses offline. */
(function () {
  "use strict";
  var player = window.sunwallPlayer;
  if (!player || !player.api) return;
  var api = player.api;
  var stage = document.getElementById("stage");
  var bar = document.getElementById("kiosk-bar");
  var start = document.getElementById("kiosk-start");
  var pageLabel = document.getElementById("kiosk-page");
  var idleLabel = document.getElementById("kiosk-idle");
  var buttons = {};
  Array.prototype.forEach.call(bar.querySelectorAll("button[data-act]"), function (b) {
    buttons[b.getAttribute("data-act")] = b;
  });

  var view = null;   // {kind: "home" | "shelf" | "item", shelf, board, sheets, sheet}
  var idleLeft = 0, idleTimer = null, audio = null;

  function manifest() { return player.manifest; }
  function idleSeconds() {
    var m = manifest();
    return (m && m.kiosk && m.kiosk.idle_seconds) || 60;
  }

  // The shelves as they stand now: items out of their posting period drop out.
  function shelves() {
    var m = manifest(), byId = api.boardsById(m), now = Date.now();
    return (m.browse || []).map(function (s) {
      var boards = s.boards.map(function (id) { return byId[id]; }).filter(function (b) {
        return b && api.within(b, now) && player.pages[b.content];
      });
      return { category: s.category, boards: boards };
    }).filter(function (s) { return s.boards.length; });
  }

  // ------------------------------------------------------------------ entering and leaving

  function enter() {
    if (player.browsing || player.needsSetup || !manifest()) return;
    if (document.body.classList.contains("urgent-on")) return;  // a warning is not browsed past
    clearTimeout(player.timer);
    player.browsing = { leave: leave };
    document.body.classList.add("browsing");
    home();
  }

  function leave() {
    stopAudio();
    clearInterval(idleTimer);
    idleTimer = null;
    view = null;
    player.browsing = null;
    document.body.classList.remove("browsing", "large");
    buttons.large.setAttribute("aria-pressed", "false");
  }

  function backToLoop() {
    leave();
    api.show(0);
  }

  function touched() {
    idleLeft = idleSeconds();
    drawIdle();
    if (!idleTimer) {
      idleTimer = setInterval(function () {
        idleLeft -= 1;
        if (idleLeft <= 0) backToLoop(); else drawIdle();
      }, 1000);
    }
  }

  function drawIdle() {
    idleLabel.textContent = api.t("idle", "%(seconds)s 秒后回到轮播", { seconds: idleLeft });
  }

  // ------------------------------------------------------------------ views

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function frame(kind, title) {
    var section = el("section", "board kiosk-view kiosk-" + kind);
    var main = el("div", "board-main");
    main.appendChild(el("h1", "board-title", title));
    var body = el("div", "board-body");
    var inner = el("div", "scroller kiosk-grid");
    body.appendChild(inner);
    main.appendChild(body);
    section.appendChild(main);
    stage.replaceChildren(section);
    stage.setAttribute("data-board-id", "");
    stage.setAttribute("data-kiosk-view", kind);
    return inner;
  }

  function home() {
    stopAudio();
    api.adopt();
    var list = shelves();
    var grid = frame("home", api.t("kiosk_home", "公开目录 · 请点选类别"));
    list.forEach(function (s, i) {
      var tile = el("button", "tile");
      tile.type = "button";
      tile.appendChild(el("span", "tile-name", s.category));
      tile.appendChild(el("span", "tile-count", api.t("items", "%(count)s 项", { count: s.boards.length })));
      tile.addEventListener("click", function () { shelf(i); });
      grid.appendChild(tile);
    });
    if (!list.length) grid.appendChild(el("p", "kiosk-empty", api.t("kiosk_empty", "目前没有可查看的公开内容。")));
    view = { kind: "home" };
    pageTiles();
  }

  function shelf(i) {
    stopAudio();
    api.adopt();
    var s = shelves()[i];
    if (!s) { home(); return; }
    var grid = frame("shelf", s.category);
    s.boards.forEach(function (b) {
      var row = el("button", "tile tile-item");
      row.type = "button";
      row.appendChild(el("span", "tile-name", b.title));
      row.addEventListener("click", function () { item(i, b.id); });
      grid.appendChild(row);
    });
    view = { kind: "shelf", shelf: i };
    pageTiles();
  }

  function item(i, id) {
    stopAudio();
    api.adopt();
    var b = api.boardsById(manifest())[id];
    if (!b || !player.pages[b.content]) { shelf(i); return; }
    stage.innerHTML = player.pages[b.content];
    api.translate(stage);
    api.showFiles(stage, b);
    api.drawQr(b.qr_url);
    stage.setAttribute("data-board-id", b.id);
    stage.setAttribute("data-kiosk-view", "item");
    view = { kind: "item", shelf: i, board: b, sheets: api.paginate(), sheet: 0 };
    if (view.sheets) api.showSheet(view.sheets, 0);
    drawPaging();
  }

  // Tiles that do not fit are shown page by page like a long board, never scrolled.
  function pageTiles() {
    var body = stage.querySelector(".board-body"), grid = stage.querySelector(".kiosk-grid");
    var tiles = Array.prototype.slice.call(grid.children);
    var pages = [], current = [], top = null;
    var room = body.clientHeight - 8;
    tiles.forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (top === null) top = r.top;
      if (current.length && r.bottom - top > room) {
        pages.push(current); current = []; top = r.top;
      }
      current.push(t);
    });
    if (current.length) pages.push(current);
    view.sheets = pages.length > 1 ? { blocks: tiles, pages: pages, body: body } : null;
    view.sheet = 0;
    if (view.sheets) flip(0);
    drawPaging();
  }

  function flip(k) {
    var sheets = view.sheets;
    if (!sheets) return;
    view.sheet = Math.max(0, Math.min(k, sheets.pages.length - 1));
    if (view.kind === "item") api.showSheet(sheets, view.sheet);
    else sheets.blocks.forEach(function (t) { t.style.display = sheets.pages[view.sheet].indexOf(t) >= 0 ? "" : "none"; });
    drawPaging();
  }

  function drawPaging() {
    var n = view.sheets ? view.sheets.pages.length : 1;
    pageLabel.textContent = n > 1 ? api.t("sheet", "第 %(page)s/%(pages)s 页", { page: view.sheet + 1, pages: n }) : "";
    buttons.prev.disabled = !view.sheets || view.sheet === 0;
    buttons.next.disabled = !view.sheets || view.sheet + 1 >= n;
    [buttons.prev, buttons.next, pageLabel].forEach(function (e) { e.classList.toggle("single", n < 2); });
    buttons.read.hidden = !(view.kind === "item" && view.board.audio);
    buttons.read.setAttribute("aria-pressed", audio ? "true" : "false");
  }

  // ------------------------------------------------------------------ read aloud

  function stopAudio() {
    if (audio) { player.api.hush(); audio = null; }
    if (buttons.read) buttons.read.setAttribute("aria-pressed", "false");
  }

  function readAloud() {
    if (audio) { stopAudio(); return; }
    var b = view && view.board;
    if (!b || !b.audio) return;
    var playing = audio = player.api.speak(b.audio, function () { if (audio === playing) stopAudio(); });
    buttons.read.setAttribute("aria-pressed", "true");
  }

  // ------------------------------------------------------------------ controls

  var actions = {
    back: function () {
      if (!view || view.kind === "home") backToLoop();
      else if (view.kind === "shelf") home();
      else shelf(view.shelf);
    },
    home: function () { home(); },
    prev: function () { flip(view.sheet - 1); },
    next: function () { flip(view.sheet + 1); },
    large: function () {
      var on = document.body.classList.toggle("large");
      buttons.large.setAttribute("aria-pressed", on ? "true" : "false");
      if (view.kind === "item") item(view.shelf, view.board.id);
      else if (view.kind === "shelf") shelf(view.shelf);
      else home();
    },
    read: readAloud
  };
  Object.keys(buttons).forEach(function (act) {
    buttons[act].addEventListener("click", function () { if (player.browsing) actions[act](); });
  });

  document.addEventListener("pointerdown", function () { if (player.browsing) touched(); }, true);
  document.addEventListener("keydown", function () { if (player.browsing) touched(); }, true);
  start.addEventListener("click", function () { enter(); touched(); });
  stage.addEventListener("click", function () {
    if (!player.browsing) { enter(); touched(); }
  });

  player.kiosk = {
    enter: enter, leave: backToLoop,
    view: function () { return view; }, audio: function () { return audio; }
  };
})();
