// Sends the survey upload form with XMLHttpRequest so that a progress bar shows how much of
// the file has gone; without JavaScript the form posts normally. No inline script: the CSP
// forbids them.
(function () {
  "use strict";

  function replaceMain(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var main = document.querySelector("main");
    if (fresh && main) {
      main.innerHTML = fresh.innerHTML;
      document.title = doc.title;
      var focus = main.querySelector(".is-invalid, .alert, h1");
      if (focus) {
        if (!focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
        focus.focus();
      }
    } else {
      document.open();
      document.write(html);
      document.close();
    }
  }

  function send(form) {
    var box = document.getElementById("upload-progress");
    var bar = document.getElementById("upload-progress-bar");
    var text = document.getElementById("upload-progress-text");
    var button = form.querySelector("[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "text/html");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) { return; }
      var percent = Math.round((100 * event.loaded) / event.total);
      bar.style.width = percent + "%";
      bar.parentNode.setAttribute("aria-valuenow", String(percent));
      text.textContent = percent < 100 ? "Sending the file… " + percent + "%" : "Reading the file…";
    });
    xhr.addEventListener("load", function () {
      var url = xhr.responseURL || "";
      if (url && url.split("#")[0] !== form.action.split("#")[0]) {
        window.location.assign(url);   // staged: on to the mapping page
      } else {
        replaceMain(xhr.responseText);  // the form again with its message (or 413)
      }
    });
    xhr.addEventListener("error", function () {
      box.classList.add("d-none");
      button.disabled = false;
      form.submit();  // let the browser try the ordinary way
    });
    if (box) {
      box.classList.remove("d-none");
      bar.style.width = "0%";
    }
    button.disabled = true;
    xhr.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.id !== "upload-form" || !window.FormData || !window.XMLHttpRequest) { return; }
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || !input.files.length) { return; }  // the server says why
    event.preventDefault();
    send(form);
  });
})();
