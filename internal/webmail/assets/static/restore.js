// Restore requests: choose what and where, preview what would come back,
// send the request, and follow one's requests. Uses app.js's state, api,
// el and $. Everything from the server is put in with textContent.
"use strict";

async function postJSON(path, body) {
  const res = await fetch("/api/v1" + path, {method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json"}, body: JSON.stringify(body)});
  if (res.status === 401) { location.assign("/login"); throw new Error("logged out"); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || ("error " + res.status));
  return data;
}

// restoreSel is the selection being restored ({snap, ids}, from the
// Changes view), or null for a restore by folders of the day shown.
let restoreSel = null;

function restoreInput() {
  const form = $("restoreform");
  if (restoreSel) return {snapshot: restoreSel.snap.id, messages: restoreSel.ids, target: form.elements.target.value};
  const some = form.elements.scope.value === "some";
  const folders = some ? [...$("restorefolders").querySelectorAll("input:checked")].map((c) => c.value) : [];
  return {snapshot: state.snap.id, folders, target: form.elements.target.value};
}

function renderRestoreFolders() {
  const box = $("restorefolders");
  box.replaceChildren(...state.folders.map((f) => {
    const depth = f.delimiter ? f.name.split(f.delimiter).length - 1 : 0;
    const label = el("label", {}, el("input", {type: "checkbox", value: f.name}), " " + f.name);
    label.style.paddingLeft = depth + "em";
    return label;
  }));
}

// scopeWords says what a request covers, before it is sent.
function scopeWords(input, day) {
  if (input.messages && input.messages.length) {
    return "What: " + (input.messages.length === 1 ? "the message" : "the " + input.messages.length + " messages") +
      " you selected, as they were on " + day + ".";
  }
  if (input.folders.length) {
    return "What: " + (input.folders.length === 1 ? "the folder " : "the folders ") + input.folders.join(", ") +
      " (with subfolders), as on " + day + ".";
  }
  return "What: the whole mailbox, every folder, as it was on " + day + ".";
}

function renderPreview(p, input) {
  const out = $("restoreresult");
  const scope = el("p", {class: "scope", id: "restorescope", text: scopeWords(input, $("restoreday").textContent)});
  if (p.total === 0) {
    out.replaceChildren(scope, el("p", {text: "Nothing to restore: every message of this backup is still in your mailbox" +
      (p.moved ? " (" + p.moved + " of them in another folder)." : ".")}));
    $("restoresend").hidden = true;
    return;
  }
  const rows = p.folders.filter((f) => f.to_restore > 0 || f.recreate).map((f) =>
    el("tr", {}, el("td", {text: f.folder + (f.recreate ? " (recreated)" : "")}), el("td", {text: String(f.to_restore)})));
  out.replaceChildren(scope,
    el("p", {text: p.total + (p.total === 1 ? " message" : " messages") + " would come back (" + fmtSize(p.bytes) + "); " + p.present +
      " are still in your mailbox and " + p.moved + " were moved to another folder: those are left as they are."}),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {text: "Folder"}), el("th", {text: "Messages"}))),
      el("tbody", {}, ...rows)));
  $("restoresend").hidden = false;
}

const STATUS = {pending: "waiting for your administrator", running: "being restored", done: "done",
  failed: "failed", rejected: "declined"};

async function loadMyRestores() {
  const list = await api("/restores");
  $("myrestores").replaceChildren(...(list.length ? list.map((r) => {
    const what = r.messages ? r.messages + " selected message" + (r.messages === 1 ? "" : "s") :
      r.folders.length ? r.folders.join(", ") : "whole mailbox";
    const li = el("li", {}, el("span", {class: "rstatus", text: STATUS[r.status] || r.status}),
      " — #" + r.id + ", backup of " + r.day + ", " + what);
    if (r.reason) li.append(el("div", {text: "Reason: " + r.reason}));
    if (r.error) li.append(el("div", {class: "error", text: r.error}));
    return li;
  }) : [el("li", {text: "none yet"})]));
}

async function openRestore(sel) {
  restoreSel = sel || null;
  const snap = restoreSel ? restoreSel.snap : state.snap;
  if (!snap) return;
  $("restoreday").textContent = snap.day;
  $("restoresep").textContent = "Restored/" + snap.day;
  $("restorewhat").hidden = !!restoreSel;
  $("restoresel").hidden = !restoreSel;
  if (restoreSel) $("restoresel").textContent = "What: the " + (restoreSel.ids.length === 1 ? "message" : restoreSel.ids.length + " messages") +
    " you selected. Those still in your mailbox are left as they are.";
  $("restoreresult").replaceChildren();
  $("restoresend").hidden = true;
  renderRestoreFolders();
  $("restore").showModal();
  try { await loadMyRestores(); } catch (e) { $("myrestores").replaceChildren(el("li", {text: e.message})); }
}

$("restorebtn").addEventListener("click", () => openRestore(null));
// The message open in the reader, from the day it was opened on.
$("restoremsg").addEventListener("click", () => {
  const ref = state.openRef, snap = ref && state.snaps.find((s) => s.id === ref.snap);
  if (snap) openRestore({snap, ids: [ref.id]});
});
$("closerestore").addEventListener("click", () => $("restore").close());
$("restoreform").addEventListener("change", (ev) => {
  $("restoresend").hidden = true;
  $("restoreresult").replaceChildren();
  // Ticking a folder means "only these folders"; the whole mailbox means none ticked.
  if (ev.target.closest("#restorefolders") && ev.target.checked) $("restoreform").elements.scope.value = "some";
  if (ev.target.name === "scope" && ev.target.value === "all") {
    for (const c of $("restorefolders").querySelectorAll("input:checked")) c.checked = false;
  }
});
$("restoreform").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = restoreInput();
  if (!restoreSel && $("restoreform").elements.scope.value === "some" && input.folders.length === 0) {
    $("restoreresult").replaceChildren(el("p", {class: "error", text: "Choose at least one folder."}));
    return;
  }
  $("restoreresult").replaceChildren(el("p", {text: "Comparing the backup with your mailbox…"}));
  try { renderPreview(await postJSON("/restores/preview", input), input); } catch (e) {
    $("restoreresult").replaceChildren(el("p", {class: "error", text: e.message}));
  }
});
$("restoresend").addEventListener("click", async () => {
  $("restoresend").hidden = true;
  try {
    const r = await postJSON("/restores", restoreInput());
    $("restoreresult").replaceChildren(el("p", {role: "status", text: "Request #" + r.id +
      " sent. Your administrator has been asked to confirm it; you will get an email when it is done."}));
    await loadMyRestores();
  } catch (e) {
    $("restoreresult").replaceChildren(el("p", {class: "error", text: e.message}));
  }
});
