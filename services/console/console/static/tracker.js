// The disclosure tracker, kept current while any channel is still working: every 3 s it
// fetches the same page and swaps in the table and the summary line, until the page says
// nothing more will change by itself (data-finished). Without this script the page has
// an "update now" link.
(function () {
  "use strict";
  var box = document.getElementById("tracker");
  var summary = document.getElementById("tracker-summary");
  if (!box || !summary || !window.fetch || !window.DOMParser) return;
  var DELAY_MS = 3000;

  function update(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var fresh = page.getElementById("tracker");
    var line = page.getElementById("tracker-summary");
    if (!fresh || !line) return false; // signed out, or another page: stop
    box.innerHTML = fresh.innerHTML;
    box.setAttribute("data-finished", fresh.getAttribute("data-finished"));
    if (summary.textContent !== line.textContent) summary.textContent = line.textContent;
    summary.className = line.className;
    return true;
  }

  function poll() {
    if (box.getAttribute("data-finished") === "true") return;
    window.setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (answer) {
          return answer.ok ? answer.text() : null;
        })
        .then(function (html) {
          if (html === null || update(html)) poll();
        })
        .catch(poll);
    }, DELAY_MS);
  }
  poll();
})();
