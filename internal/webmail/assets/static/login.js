// Login page: posts the credentials as JSON, the only kind of body the
// server accepts for a login.
"use strict";
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = document.getElementById("error");
  const btn = document.getElementById("submit");
  err.hidden = true;
  btn.disabled = true;
  try {
    const res = await fetch("/api/v1/session", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      }),
    });
    if (res.ok) {
      // Back to the page that asked for the login, if it is one of ours
      // (the server's rule too: a path, never another site).
      const next = new URLSearchParams(location.search).get("next") || "";
      location.assign(/^\/(?![\/\\])[^\\\r\n]*$/.test(next) ? next : "/");
      return;
    }
    const body = await res.json().catch(() => ({}));
    err.textContent = body.error || "Login failed.";
  } catch (e) {
    err.textContent = "The server cannot be reached.";
  } finally {
    btn.disabled = false;
  }
  err.hidden = false;
});
