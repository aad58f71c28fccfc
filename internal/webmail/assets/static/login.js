// Login page: posts the credentials as JSON, the only kind of body the
// server accepts for a login, and says plainly why a login did not work
// (messages from i18n.js).
"use strict";
const params = new URLSearchParams(location.search);
// Where the user was before the session ended: a path of this site only
// (the server's rule too).
const next = params.get("next") || "";
const back = /^\/(?![\/\\])[^\\\r\n]*$/.test(next) ? next : "/";
document.getElementById("expired").hidden = params.get("expired") !== "1";
// The language links keep where the user is going.
for (const a of document.querySelectorAll("a[data-lang]")) {
  const p = new URLSearchParams(location.search);
  p.set("lang", a.dataset.lang);
  a.href = "?" + p;
}

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = document.getElementById("error");
  const btn = document.getElementById("submit");
  err.hidden = true;
  btn.disabled = true;
  try {
    const res = await fetch("/api/v1/session", {
      method: "POST",
      headers: {...API_HEADERS, "Content-Type": "application/json"},
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      }),
    });
    if (res.ok) {
      location.assign(back);
      return;
    }
    if (res.status === 429) {
      const wait = Math.max(1, Number(res.headers.get("Retry-After")) || 60);
      err.textContent = wait > 90 ? t("js.login_wait_minutes", {Count: Math.ceil(wait / 60)}) : t("js.login_wait", {Count: wait});
    } else if (res.status === 503) {
      err.textContent = t("js.login_unavailable");
    } else {
      err.textContent = t("js.login_failed");
    }
  } catch (e) {
    err.textContent = t("js.login_unreachable");
  } finally {
    btn.disabled = false;
  }
  err.hidden = false;
});
