// The one-time login link: its token is in the URL's fragment (never sent to a server). It is taken out
// of the address bar and the history at once, and traded for a session cookie only when the person at
// the keyboard says so: a link another site sends a browser to cannot log it in to someone else's account.
"use strict";
(function () {
  var status = document.getElementById("login-status");
  var button = document.getElementById("login-button");
  var token = location.hash.replace(/^#/, "");
  history.replaceState(null, "", "/ui/login");
  if (!token) {
    status.textContent = "This page needs a login link: run `gpu-dev dashboard` and open the link it prints.";
    return;
  }
  status.textContent = "Log in with the link `gpu-dev dashboard` printed for you just now? It works once, within 2 minutes.";
  button.hidden = false;
  button.focus();
  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = "Logging in…";
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
  });
})();
