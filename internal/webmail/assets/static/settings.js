// The user's settings (GET and PUT /api/v1/settings): a change is saved
// at once. Uses app.js's $ and api.
"use strict";
async function openSettings() {
  $("settingsstatus").textContent = "";
  $("settings").showModal();
  try {
    $("set-warning").checked = (await api("/settings")).mass_deletion_warning;
  } catch (e) { $("settingsstatus").textContent = e.message; }
}

$("settingsbtn").addEventListener("click", openSettings);
$("closesettings").addEventListener("click", () => $("settings").close());
$("set-warning").addEventListener("change", async () => {
  const want = $("set-warning").checked;
  $("settingsstatus").textContent = "Saving…";
  try {
    const res = await fetch("/api/v1/settings", {method: "PUT",
      headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({mass_deletion_warning: want})});
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || ("error " + res.status));
    $("set-warning").checked = data.mass_deletion_warning;
    $("settingsstatus").textContent = data.mass_deletion_warning ?
      "Saved: you will be warned." : "Saved: you will not be warned.";
  } catch (e) {
    $("set-warning").checked = !want;
    $("settingsstatus").textContent = "Not saved: " + e.message;
  }
});
