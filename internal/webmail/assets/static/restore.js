// Restore requests: choose what and where, preview what would come back,
// send the request, and follow one's requests. Uses app.js's state, api,
// el and $. Everything from the server is put in with textContent.
"use strict";

async function postJSON(path, body) {
  const res = await fetch("/api/v1" + path, {method: "POST",
    headers: {...API_HEADERS, "Content-Type": "application/json"}, body: JSON.stringify(body)});
  if (res.status === 401) { loggedOut(); throw new Error("logged out"); }
  if (!res.ok) throw await apiFailure(res);
  return res.json();
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
  if (input.messages && input.messages.length) return t("js.rs_scope_messages", {Count: input.messages.length, Day: day});
  if (input.folders.length) return t("js.rs_scope_folders", {Count: input.folders.length, Folders: input.folders.join(", "), Day: day});
  return t("js.rs_scope_all", {Day: day});
}

function renderPreview(p, input) {
  const out = $("restoreresult");
  const scope = el("p", {class: "scope", id: "restorescope", text: scopeWords(input, $("restoreday").textContent)});
  if (p.total === 0) {
    out.replaceChildren(scope, el("p", {text: p.moved ? t("js.rs_nothing_moved", {Count: p.moved}) : t("js.rs_nothing")}));
    $("restoresend").hidden = true;
    return;
  }
  const rows = p.folders.filter((f) => f.to_restore > 0 || f.recreate).map((f) =>
    el("tr", {}, el("td", {text: f.recreate ? t("js.rs_recreated", {Folder: f.folder}) : f.folder}), el("td", {text: NUM.format(f.to_restore)})));
  out.replaceChildren(scope,
    el("p", {text: t("js.rs_would", {Count: p.total, Size: fmtSize(p.bytes)}) + " " +
      t("js.rs_left", {Present: p.present, Moved: p.moved})}),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {text: t("js.rs_folder")}), el("th", {text: t("js.rs_messages")}))),
      el("tbody", {}, ...rows)));
  $("restoresend").hidden = !!openRequest; // the note at the top says why
}



// openRequest is the account's request waiting or running, if any: an
// account has one at a time (two restores of one mailbox at once could
// both find a message missing and both put it back), which the button and
// the dialog say before anything is asked.
let openRequest = null;

function renderOpenRequest() {
  $("restorebtn").textContent = openRequest ? t("js.rs_button_open", {ID: String(openRequest.id)}) : t("js.rs_button");
  $("restoreopen").hidden = !openRequest;
  if (openRequest) {
    $("restoreopen").textContent = t("js.rs_open_note", {ID: String(openRequest.id), Day: dayName(openRequest.day),
      Status: t("js.rs_status_" + openRequest.status)});
  }
}

async function loadMyRestores() {
  const list = await api("/restores");
  openRequest = list.find((r) => r.status === "pending" || r.status === "running") || null;
  renderOpenRequest();
  $("myrestores").replaceChildren(...(list.length ? list.map((r) => {
    const what = r.messages ? t("js.rs_n_selected", {Count: r.messages}) :
      r.folders.length ? r.folders.join(", ") : t("js.rs_whole");
    const li = el("li", {}, el("span", {class: "rstatus", text: t("js.rs_status_" + r.status)}),
      " " + t("js.rs_request", {ID: String(r.id), Day: dayName(r.day), What: what}));
    if (r.reason) li.append(el("div", {text: t("js.rs_reason", {Reason: r.reason})}));
    if (r.error) li.append(el("div", {class: "error", text: t("js.rs_error", {Error: r.error})}));
    return li;
  }) : [el("li", {text: t("js.rs_none")})]));
}

async function openRestore(sel) {
  restoreSel = sel || null;
  const snap = restoreSel ? restoreSel.snap : state.snap;
  if (!snap) return;
  renderOpenRequest();
  $("restoreday").textContent = dayName(snap.day);
  $("restoreday").dataset.day = snap.day;
  $("restoresep").textContent = "Restored/" + snap.day;
  $("restorewhat").hidden = !!restoreSel;
  $("restoresel").hidden = !restoreSel;
  if (restoreSel) $("restoresel").textContent = t("js.rs_selected", {Count: restoreSel.ids.length});
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
    $("restoreresult").replaceChildren(el("p", {class: "error", text: t("js.rs_choose_folder")}));
    return;
  }
  $("restoreresult").replaceChildren(el("p", {text: t("js.rs_comparing")}));
  try { renderPreview(await postJSON("/restores/preview", input), input); } catch (e) {
    $("restoreresult").replaceChildren(el("p", {class: "error", text: e.message}));
  }
});
$("restoresend").addEventListener("click", async () => {
  $("restoresend").hidden = true;
  try {
    const r = await postJSON("/restores", restoreInput());
    $("restoreresult").replaceChildren(el("p", {role: "status", text: t("js.rs_sent", {ID: String(r.id)})}));
    await loadMyRestores();
  } catch (e) {
    $("restoreresult").replaceChildren(el("p", {class: "error", text: e.message}));
  }
});

// The button says at once whether a request is already waiting.
ready.then(() => loadMyRestores()).catch(() => { /* the dialog says it when opened */ });
