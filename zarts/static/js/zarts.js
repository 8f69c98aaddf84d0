// Polling only while the tab is visible. The Content-Security-Policy forbids eval, so htmx's
// trigger filters ("every 5s [document.visibilityState === 'visible']") cannot run; instead a
// poll (a request with no triggering event) is cancelled while the page is hidden.
document.addEventListener("htmx:beforeRequest", function (evt) {
  if (document.visibilityState !== "visible" && !evt.detail.requestConfig.triggeringEvent) {
    evt.preventDefault();
  }
});
