// The procedure form's checklist, kept current while the editor types: the same rule
// as the procedures service's (console/procedure_form.py missing_components). Without
// this script the checklist shows what the last save found.
(function () {
  "use strict";
  var form = document.getElementById("procedure-form");
  var list = document.getElementById("checklist");
  var count = document.getElementById("missing-count");
  if (!form || !list) return;
  var mayBeNone = { fees: true, forms: true, requirements: true };

  function filled(selector) {
    return Array.prototype.some.call(form.querySelectorAll(selector), function (el) {
      return el.value.trim() !== "";
    });
  }
  function checked(id) {
    var box = document.getElementById(id);
    return !!(box && box.checked);
  }
  function present(name) {
    if (name === "processing_time") return document.getElementById("processing_time_value").value.trim() !== "";
    if (name === "dossier") return filled('input[id^="dossier-"][id$="-name"]');
    if (name === "fees") return filled('input[id^="fees-"][id$="-name"]') || checked("fees-none");
    var input = document.getElementById(name);
    if (input && (input.tagName === "SELECT" || input.tagName === "TEXTAREA" || input.tagName === "INPUT")) {
      return input.value.trim() !== "";
    }
    return filled('input[id^="' + name + '-"]:not([type="checkbox"])') || (mayBeNone[name] && checked(name + "-none"));
  }
  function update() {
    var missing = 0;
    Array.prototype.forEach.call(list.querySelectorAll("li[data-component]"), function (item) {
      var ok = present(item.getAttribute("data-component"));
      item.className = ok ? "done" : "missing";
      item.querySelector("span").textContent = ok ? "đã có" : "còn thiếu";
      if (!ok) missing += 1;
    });
    count.textContent = missing ? "Còn thiếu " + missing + " thành phần." : "Đã đủ các thành phần.";
    count.className = missing ? "bad" : "status-done";
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
