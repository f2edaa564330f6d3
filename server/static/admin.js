/* Admin helpers: Markdown toolbar, and showing the body or the table field by kind. */
(function () {
  "use strict";
  document.querySelectorAll(".toolbar").forEach(function (bar) {
    var area = document.getElementById(bar.getAttribute("data-target"));
    if (!area) return;
    bar.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) return;
      var s = area.selectionStart, e = area.selectionEnd, v = area.value, sel = v.slice(s, e);
      var text;
      if (b.dataset.wrap) text = b.dataset.wrap + (sel || "文字") + b.dataset.wrap;
      else if (b.dataset.md) text = (s > 0 && v[s - 1] !== "\n" ? "\n" : "") + b.dataset.md + sel;
      else text = "\n" + b.dataset.insert;
      area.setRangeText(text, s, e, "end");
      area.focus();
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
})();
