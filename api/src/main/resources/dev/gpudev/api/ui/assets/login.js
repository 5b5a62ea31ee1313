// The one-time login link: its token is in the URL's fragment (never sent to a server). Trade it for a
// session cookie, take it out of the address bar and the history, and go to the dashboard.
"use strict";
(function () {
  var status = document.getElementById("login-status");
  var token = location.hash.replace(/^#/, "");
  history.replaceState(null, "", "/ui/login");
  if (!token) {
    status.textContent = "This page needs a login link: run `gpu-dev dashboard` and open the link it prints.";
    return;
  }
  fetch("/v1/ui/session", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({token: token})
  }).then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) {
        throw new Error(body && body.message ? body.message : "login failed (" + r.status + ")");
      }
      location.replace("/ui");
    });
  }).catch(function (e) {
    status.textContent = "Could not log in: " + e.message;
  });
})();
