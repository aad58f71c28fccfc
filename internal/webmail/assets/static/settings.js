// The user's settings (GET and PUT /api/v1/settings): a change is saved
// at once. The language is also remembered in this browser (cookie lang)
// and the page is shown again in it. Uses app.js's $, api and t.
"use strict";
async function openSettings() {
  $("settingsstatus").textContent = "";
  $("settings").showModal();
  try {
    $("set-warning").checked = (await api("/settings")).mass_deletion_warning;
  } catch (e) { $("settingsstatus").textContent = e.message; }
}

async function saveSettings(change) {
  const res = await fetch("/api/v1/settings", {method: "PUT",
    headers: {...API_HEADERS, "Content-Type": "application/json"}, body: JSON.stringify(change)});
  if (res.status === 401) { loggedOut(); throw new Error("logged out"); }
  if (!res.ok) throw await apiFailure(res);
  return res.json();
}

$("settingsbtn").addEventListener("click", openSettings);
$("closesettings").addEventListener("click", () => $("settings").close());
$("set-warning").addEventListener("change", async () => {
  const want = $("set-warning").checked;
  $("settingsstatus").textContent = t("js.st_saving");
  try {
    const data = await saveSettings({mass_deletion_warning: want});
    $("set-warning").checked = data.mass_deletion_warning;
    $("settingsstatus").textContent = t(data.mass_deletion_warning ? "js.st_on" : "js.st_off");
  } catch (e) {
    $("set-warning").checked = !want;
    $("settingsstatus").textContent = t("js.st_not_saved", {Error: e.message});
  }
});
$("set-language").addEventListener("change", async () => {
  const lang = $("set-language").value;
  document.cookie = "lang=" + encodeURIComponent(lang) + "; path=/; max-age=31536000; samesite=lax";
  try { await saveSettings({language: lang}); } catch (e) { /* the page still changes; emails keep the old language */ }
  location.reload();
});
