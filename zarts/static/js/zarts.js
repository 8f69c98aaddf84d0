// Polling only while the tab is visible. The Content-Security-Policy forbids eval, so htmx's
// trigger filters ("every 5s [document.visibilityState === 'visible']") cannot run; instead a
// poll (a request with no triggering event) is cancelled while the page is hidden.
document.addEventListener("htmx:beforeRequest", function (evt) {
  if (document.visibilityState !== "visible" && !evt.detail.requestConfig.triggeringEvent) {
    evt.preventDefault();
  }
});

// Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
document.addEventListener("click", function (evt) {
  var button = evt.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source) {
    return;
  }
  var text = source.textContent.trim();
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {  // plain http: select it, so Ctrl+C does the rest
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
    done();
  }
});

// The main navigation folds behind a Menu button on narrow screens (the stylesheet hides it there).
document.addEventListener("click", function (evt) {
  var toggle = evt.target.closest(".nav-toggle");
  if (!toggle) {
    return;
  }
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  document.getElementById(toggle.getAttribute("aria-controls")).classList.toggle("nav-open", open);
});

// The report's print button (no inline handlers: the Content-Security-Policy forbids them).
document.addEventListener("click", function (evt) {
  if (evt.target.closest(".print-button")) {
    window.print();
  }
});

// Upload progress: a form with a <progress data-upload-progress> shows how much of its file has been sent.
document.addEventListener("htmx:xhr:progress", function (evt) {
  var bar = evt.target.querySelector && evt.target.querySelector("[data-upload-progress]");
  if (!bar || !evt.detail.lengthComputable || !evt.detail.total) {
    return;
  }
  var percent = Math.round(evt.detail.loaded * 100 / evt.detail.total);
  bar.hidden = false;
  bar.value = percent;
  bar.textContent = percent + "%";
});
