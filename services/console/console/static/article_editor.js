// The article editor, enhanced: a live preview of the body (rendered and sanitised by
// the content service, exactly as the portal will show it) kept current while the
// editor types, and the progress of files being uploaded. Without this script the
// "Xem trước" and "Tải lên" buttons do the same with a page each.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.DOMParser) return;
  var timer = null;
  var sent = 0;

  function byId(id) { return document.getElementById(id); }

  function livePreview(form) {
    var live = byId("live-preview");
    var body = byId("body");
    if (!live || !body) return;
    var url = form.getAttribute("data-preview-url");
    var out = byId("live-preview-body");
    function texts() {
      byId("live-preview-heading").textContent = byId("title").value.trim() || "(chưa có tiêu đề)";
      byId("live-preview-lead").textContent = byId("summary").value.trim();
    }
    function refresh() {
      var data = new FormData();
      data.append("csrf_token", form.elements.csrf_token.value);
      data.append("body", body.value);
      var mine = ++sent;
      fetch(url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (answer) { return answer.text(); })
        .then(function (html) { if (mine === sent) out.innerHTML = html; })
        .catch(function () {
          if (mine === sent) out.textContent = "Chưa xem trước được: mất kết nối. Nội dung bạn viết vẫn còn.";
        });
    }
    live.hidden = false;
    live.parentNode.classList.add("form-layout", "article-layout");
    texts();
    refresh();
    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
    byId("title").addEventListener("input", texts);
    byId("summary").addEventListener("input", texts);
  }

  function chosenFiles(form) {
    return Array.prototype.some.call(form.querySelectorAll('input[type="file"]'), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  // The page the server answered, in place of this one: a redirect is followed; a form
  // page (the files kept, or refused beside their field) replaces the main content.
  function show(xhr, done) {
    var url = xhr.responseURL || window.location.href;
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var main = doc.getElementById("main");
    if (!main || url.indexOf("/edit") === -1 && url.indexOf("/new") === -1) {
      window.location.assign(url);
      return;
    }
    document.title = doc.title;
    byId("main").replaceWith(main);
    if (url !== window.location.href.split("#")[0]) window.history.replaceState(null, "", url);
    init();
    var text = byId("upload-text");
    var region = byId("upload-progress");
    if (done && text && region) {
      region.hidden = false;
      byId("upload-bar").value = 100;
      text.textContent = done;
    }
    var focus = main.querySelector(".error-box, .notice") || main;
    if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1");
    focus.focus();
  }

  function uploads(form) {
    form.addEventListener("submit", function (event) {
      if (!chosenFiles(form) || !window.XMLHttpRequest) return;
      event.preventDefault();
      var submitter = event.submitter;
      var data = new FormData(form);
      if (submitter && submitter.name) data.append(submitter.name, submitter.value);
      var action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
      var region = byId("upload-progress");
      var bar = byId("upload-bar");
      var text = byId("upload-text");
      region.hidden = false;
      bar.value = 0;
      text.textContent = "Đang tải lên: 0%";
      var xhr = new XMLHttpRequest();
      xhr.open("POST", action.split("#")[0]);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.round((100 * e.loaded) / e.total);
        bar.value = percent;
        text.textContent = "Đang tải lên: " + percent + "%";
      });
      xhr.addEventListener("load", function () { show(xhr, "Đã tải lên 100%."); });
      xhr.addEventListener("error", function () {
        text.textContent = "Chưa tải lên được: mất kết nối. Các tệp vẫn được chọn; hãy thử lại.";
      });
      xhr.send(data);
    });
  }

  function init() {
    var form = byId("article-form");
    if (!form) return;
    livePreview(form);
    uploads(form);
  }

  init();
})();
