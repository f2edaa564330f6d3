/* Admin helpers: the formatting toolbar, lists that continue on Enter, the draft form's
   live screen preview, and showing the body or the table field by kind. */
(function () {
  "use strict";

  var PLACEHOLDER = "文字";

  function changed(area) { area.dispatchEvent(new Event("input", { bubbles: true })); }

  // A new numbered item counts on from the numbered item on the line above it.
  function nextNumber(above) {
    var m = /^\s*(\d+)\.\s/.exec(above);
    return m ? parseInt(m[1], 10) + 1 : 1;
  }

  function toolbarText(b, v, s, sel) {
    if (b.dataset.wrap) return b.dataset.wrap + (sel || PLACEHOLDER) + b.dataset.wrap;
    // Blocks start on a line of their own (the server keeps them apart from the text above).
    var lineStart = s > 0 && v[s - 1] !== "\n" ? "\n" : "";
    if (b.dataset.insert) return lineStart + b.dataset.insert;
    var cur = v.lastIndexOf("\n", s - 1) + 1;
    var above = lineStart ? v.slice(cur, s) : v.slice(v.lastIndexOf("\n", cur - 2) + 1, Math.max(cur - 1, 0));
    var n = nextNumber(above);
    // Each selected line becomes an item (or a heading).
    return lineStart + sel.split("\n").map(function (line, i) {
      return (b.dataset.numbered ? (n + i) + ". " : b.dataset.md) + line;
    }).join("\n");
  }

  document.querySelectorAll(".toolbar").forEach(function (bar) {
    var area = document.getElementById(bar.getAttribute("data-target"));
    if (!area) return;
    bar.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      var s = area.selectionStart, e = area.selectionEnd;
      area.setRangeText(toolbarText(b, area.value, s, area.value.slice(s, e)), s, e, "end");
      // 加粗 with nothing selected: select the placeholder so typing replaces it.
      if (b.dataset.wrap && s === e) {
        area.setSelectionRange(s + b.dataset.wrap.length, s + b.dataset.wrap.length + PLACEHOLDER.length);
      }
      area.focus();
      changed(area);
    });
    // Enter on a list item starts the next item; Enter on an empty item ends the list,
    // as in a word processor. Never while an input method is composing.
    area.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || ev.shiftKey || ev.isComposing || area.selectionStart !== area.selectionEnd) return;
      var v = area.value, s = area.selectionStart, start = v.lastIndexOf("\n", s - 1) + 1;
      var m = /^(\s*)(?:([-*+])|(\d+)\.)\s+/.exec(v.slice(start, s));
      if (!m) return;
      ev.preventDefault();
      if (m[0].length === s - start) area.setRangeText("", start, s, "end");
      else area.setRangeText("\n" + m[1] + (m[2] ? m[2] + " " : (parseInt(m[3], 10) + 1) + ". "), s, s, "end");
      changed(area);
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (ev) { if (!window.confirm(f.dataset.confirm)) ev.preventDefault(); });
  });

  var kinds = document.querySelectorAll("input[name=kind]");
  function sync() {
    var checked = document.querySelector("input[name=kind]:checked");
    var table = document.querySelector(".field-table");
    if (table && checked) table.style.display = checked.value === "table" ? "" : "none";
  }
  kinds.forEach(function (k) { k.addEventListener("change", sync); });
  sync();

  // The draft form's live preview: post the form as typed (debounced) and show the board
  // the server renders for screens, scaled into the frame; or what is still missing.
  var form = document.querySelector("form[data-preview-url]");
  if (form) livePreview(form);

  function livePreview(form) {
    var frame = document.getElementById("preview-frame"), box = frame.parentNode;
    var errors = document.getElementById("preview-errors"), layout = document.getElementById("preview-layout");
    var token = form.querySelector("input[name=csrf_token]").value;
    var size = { width: 1920, height: 1080 }, timer = null, asked = 0;

    function fit() {
      var aside = box.parentNode, pad = getComputedStyle(aside);
      var room = aside.clientWidth - parseFloat(pad.paddingLeft) - parseFloat(pad.paddingRight) - 2;
      var scale = Math.min(room / size.width, (window.innerHeight * 0.75) / size.height);
      frame.style.width = size.width + "px";
      frame.style.height = size.height + "px";
      frame.style.transform = "scale(" + scale + ")";
      box.style.width = Math.floor(size.width * scale) + "px";
      box.style.height = Math.floor(size.height * scale) + "px";
    }

    function problems(list) {
      errors.replaceChildren.apply(errors, list.map(function (text) {
        var li = document.createElement("li");
        li.textContent = text;
        return li;
      }));
      errors.hidden = list.length === 0;
      box.classList.toggle("stale", list.length > 0);
    }

    function refresh() {
      var mine = ++asked, body = new FormData(form);
      body.delete("files");  // uploads go with the save, never with each preview
      body.append("layout", layout.value);
      fetch(form.dataset.previewUrl, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" }
      }).then(function (r) {
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!json || (r.status !== 200 && r.status !== 422)) throw new Error("preview " + r.status);
        return r.json();
      }).then(function (data) {
        if (mine !== asked) return;  // an answer to older text
        if (data.html) {
          size = { width: data.width, height: data.height };
          fit();
          frame.srcdoc = data.html;
          document.getElementById("preview-empty").hidden = true;
          problems([]);
        } else {
          problems(data.errors.map(function (e) { return e.message; }));
        }
      }).catch(function () {
        if (mine === asked) problems([form.dataset.previewFailed]);
      });
    }

    function later() { clearTimeout(timer); timer = setTimeout(refresh, 400); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    layout.addEventListener("change", refresh);
    window.addEventListener("resize", fit);
    fit();
    // A new, empty form would only list what is missing: wait for the first keystroke.
    var title = form.querySelector("input[name=title]");
    if (!title || title.value) refresh();
  }

  // The draft form shows the fields of the chosen catalogue item's timing: a period for a
  // regular item, a case for a staged or ad hoc one, and the item's own stage names.
  document.querySelectorAll("fieldset.obligation").forEach(function (box) {
    var meta = JSON.parse(box.dataset.catalogue || "{}");
    var item = document.getElementById("catalogue_item_id");
    var stage = document.getElementById("stage");
    var caseSel = document.getElementById("case_id");
    function show() {
      var m = meta[item && item.value] || null;
      var timing = m ? m.timing : "";
      box.hidden = !m;
      box.querySelectorAll("[data-timing]").forEach(function (part) {
        part.hidden = part.dataset.timing.split(" ").indexOf(timing) < 0;
      });
      if (stage && m && m.stages.length) {
        Array.prototype.forEach.call(stage.options, function (o, i) {
          o.hidden = i >= m.stages.length;
          if (i < m.stages.length) o.textContent = (i + 1) + ". " + m.stages[i];
        });
      }
      var phased = box.querySelector("[data-phased]");
      if (phased) {
        phased.hidden = !(m && m.internal_days > 0);
        if (m) phased.textContent = phased.dataset.text.replace("{n}", m.internal_days);
      }
      var fresh = !caseSel || caseSel.value === "0";
      box.querySelectorAll("#case_title, #case_opened_on").forEach(function (f) {
        f.closest(".field").hidden = !fresh;
      });
    }
    // Only the catalogue of the chosen area's organisation type (a township office drafts
    // from the township catalogue, a village from the village one).
    var areaKinds = JSON.parse(box.dataset.areaKinds || "{}");
    var area = document.getElementById("area_id");
    function offer() {
      if (!area || !item) return;
      var kind = areaKinds[area.value];
      var first = null;
      Array.prototype.forEach.call(item.options, function (o) {
        var m = meta[o.value];
        o.hidden = o.disabled = !!(m && kind && m.kind !== kind);
        if (!o.hidden && !first) first = o;
      });
      item.querySelectorAll("optgroup").forEach(function (g) {
        g.hidden = !Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
      });
      var chosen = item.options[item.selectedIndex];
      if ((!chosen || chosen.hidden) && first) {
        item.value = first.value;
        item.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    if (area) area.addEventListener("change", offer);
    if (item) item.addEventListener("change", show);
    if (caseSel) caseSel.addEventListener("change", show);
    offer();
    show();
  });
})();
