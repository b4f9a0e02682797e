// Keyboard shortcuts. Any element with data-key="r" is clicked (or focused, for
// fields) when that key is pressed outside a text field. In lists, j/k move
// through rows marked data-row, Enter opens the row's data-href and x ticks the
// row's checkbox.
(function () {
  "use strict";
  function typing(el) {
    // A ticked checkbox keeps the focus; keys still work there.
    if (el && el.tagName === "INPUT" && /^(checkbox|radio)$/.test(el.type)) return false;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-row]")); }
  function select(delta) {
    var all = rows();
    if (!all.length) return;
    var i = all.findIndex(function (r) { return r.classList.contains("is-selected"); });
    var next = Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + delta));
    all.forEach(function (r) { r.classList.remove("is-selected"); });
    all[next].classList.add("is-selected");
    all[next].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement)) return;
    if (event.key === "j") { select(1); event.preventDefault(); return; }
    if (event.key === "k") { select(-1); event.preventDefault(); return; }
    if (event.key === "x") {
      var box = document.querySelector("[data-row].is-selected input[type=checkbox]");
      if (box) { box.click(); event.preventDefault(); }
      return;
    }
    if (event.key === "Enter") {
      var chosen = document.querySelector("[data-row].is-selected");
      if (chosen && chosen.dataset.href) { window.location = chosen.dataset.href; event.preventDefault(); }
      return;
    }
    var target = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (!target) return;
    event.preventDefault();
    if (typing(target)) { target.focus(); } else { target.click(); }
  });
})();
