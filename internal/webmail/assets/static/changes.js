// The Changes view: what changed between two days (GET /api/v1/changes),
// folder by folder, each row opening the message as it was, and the
// restore of exactly what was lost: single messages, a folder's deleted
// messages, or a deleted folder. Uses app.js's state, api, el, $, fmtTime,
// showDetail and closeMessage, and restore.js's openRestore. Everything
// from the server is put in with textContent.
"use strict";
const CPAGE = 100;
const ch = {data: null, from: null, to: null, kind: "", folder: "", offset: 0, open: -1,
  pick: new Set(), pickFrom: null, groups: new Map()};

// The kinds a user filters by; "deleted" covers a message gone from a
// folder while a copy is kept in another ("removed").
const KINDS = [["", "js.kind_all"], ["deleted,removed", "js.kind_deleted"], ["moved", "js.kind_moved"], ["new", "js.kind_new"],
  ["flags", "js.kind_flags"]];
const LOST = "deleted,removed";

// longDay is a day in a sentence: its weekday and date.
const longDay = (day) => new Date(day + "T12:00:00").toLocaleDateString(LANG, {weekday: "long", day: "numeric", month: "long", year: "numeric"});

async function getChanges(params) {
  const res = await fetch("/api/v1/changes?" + new URLSearchParams(params), {headers: API_HEADERS});
  if (res.status === 401) { loggedOut(); throw new Error("logged out"); }
  if (!res.ok) throw await apiFailure(res);
  return res.json();
}

// ---- opening and closing the view
async function openChanges(from, to, push) {
  $("panes").classList.add("changes");
  $("changes").hidden = false;
  $("changesbtn").setAttribute("aria-pressed", "true");
  document.body.className = "app show-list";
  closeMessage();
  ch.kind = ""; ch.folder = ""; ch.offset = 0;
  await loadChanges(from, to, push);
}

function closeChanges(push) {
  if ($("changes").hidden) return;
  $("panes").classList.remove("changes");
  $("changes").hidden = true;
  $("changesbtn").setAttribute("aria-pressed", "false");
  document.body.className = "app show-list";
  closeMessage();
  if (push) history.pushState(null, "", "/");
}

function fillDays(from, to) {
  const opts = () => state.snaps.map((s) => el("option", {value: s.id, "data-day": s.day,
    text: s.vanished ? t("js.ch_day_deleted", {Day: dayName(s.day), Count: s.vanished}) : dayName(s.day)}));
  $("chfrom").replaceChildren(...opts());
  $("chto").replaceChildren(...opts());
  $("chfrom").value = String(from);
  $("chto").value = String(to);
}

async function loadChanges(from, to, push) {
  const params = {offset: ch.offset, limit: CPAGE};
  if (from) params.from = from;
  if (to) params.to = to;
  if (ch.kind) params.change = ch.kind;
  if (ch.folder) params.folder = ch.folder;
  $("chsummary").textContent = t("js.ch_comparing");
  let d;
  try { d = await getChanges(params); } catch (e) {
    $("chsummary").textContent = state.snaps.length < 2 ? t("js.ch_one_day") : e.message;
    for (const id of ["chfolders", "chgroups", "chkinds", "chrows"]) $(id).replaceChildren();
    $("chcount").textContent = "";
    return;
  }
  if (ch.from !== d.from) ch.groups.clear();
  ch.data = d; ch.from = d.from; ch.to = d.to; ch.open = -1;
  if (ch.pickFrom !== d.from) { ch.pick.clear(); ch.pickFrom = d.from; }
  fillDays(d.from, d.to);
  const url = "/changes?from=" + d.from + "&to=" + d.to;
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  renderChanges();
}

// ---- rendering
// shownFolders leaves out an empty parent deleted with its subfolders:
// the server lists it, the user deleted one folder.
function shownFolders(d) {
  const under = (child, parent) => child.length > parent.length + 1 && child.startsWith(parent) && "/.".includes(child[parent.length]);
  return d.folders.filter((f) => !(f.change === "deleted" && !f.messages &&
    d.folders.some((g) => g.change === "deleted" && under(g.name, f.name))));
}

function summary(d) {
  const c = d.counts, days = {From: longDay(d.from_day), To: longDay(d.to_day)};
  const parts = [];
  const fd = shownFolders(d).filter((f) => f.change === "deleted").length;
  if (fd) parts.push(t("js.ch_n_folders_deleted", {Count: fd}));
  for (const k of ["deleted", "removed", "moved", "new", "flags"]) {
    if (c[k]) parts.push(t("js.ch_n_" + k, {Count: c[k]}));
  }
  if (parts.length === 0 && shownFolders(d).length === 0) return t("js.ch_nothing", days);
  if (parts.length === 0) return t("js.ch_only_folders", days);
  return t("js.ch_summary", {...days, Changes: parts.join(", ")});
}

function lostIn(folder) {
  return ch.data.groups.filter((g) => g.folder === folder && (g.change === "deleted" || g.change === "removed"))
    .reduce((n, g) => n + g.messages, 0);
}

// pickBox is the checkbox that selects all the lost messages of a folder.
function pickBox(folder, label) {
  const n = lostIn(folder);
  const box = el("input", {type: "checkbox", class: "pickgroup", "data-folder": folder});
  const ids = ch.groups.get(folder);
  box.checked = !!ids && ids.length > 0 && ids.every((id) => ch.pick.has(id));
  return el("label", {class: "pickall"}, box, " " + t(label, {Count: n}));
}

function folderItem(f) {
  const li = el("li", {class: "fchange " + f.change, "data-folder": f.name});
  const icon = {deleted: "🗑️", renamed: "✏️", created: "➕", unsubscribed: "👁️"}[f.change] || "";
  const text = f.change === "deleted" && f.messages ? t("js.ch_folder_deleted_n", {Folder: f.name, Count: f.messages}) :
    t("js.ch_folder_" + f.change, {Folder: f.name, NewName: f.new_name || ""});
  li.append(icon + " " + text + " ");
  if (f.change === "deleted" && lostIn(f.name)) li.append(pickBox(f.name, "js.ch_pick_folder"));
  return li;
}


function groupItems(d) {
  const byFolder = new Map();
  for (const g of d.groups) {
    if (!byFolder.has(g.folder)) byFolder.set(g.folder, []);
    byFolder.get(g.folder).push(g);
  }
  const deletedFolders = new Set(d.folders.filter((f) => f.change === "deleted").map((f) => f.name));
  return [...byFolder].map(([folder, gs]) => {
    const li = el("li", {"data-folder": folder}, el("button", {type: "button", class: "gfolder" + (ch.folder === folder && !ch.kind ? " current" : ""),
      "data-folder": folder, "data-kind": "", text: folder}), " ");
    gs.forEach((g, i) => {
      if (i) li.append(" · ");
      const kind = g.change === "deleted" || g.change === "removed" ? LOST : g.change;
      li.append(el("button", {type: "button", class: "gkind" + (ch.folder === folder && ch.kind === kind ? " current" : ""),
        "data-folder": folder, "data-kind": kind, text: t("js.ch_group_" + g.change, {Count: g.messages})}));
    });
    if (lostIn(folder) && !deletedFolders.has(folder)) li.append(" ", pickBox(folder, "js.ch_pick_group"));
    return li;
  });
}

function flagChange(before, after) {
  const b = new Set(before.split(" ").filter(Boolean)), a = new Set(after.split(" ").filter(Boolean));
  const w = [];
  if (!b.has("\\Seen") && a.has("\\Seen")) w.push(t("js.ch_marked_read"));
  if (b.has("\\Seen") && !a.has("\\Seen")) w.push(t("js.ch_marked_unread"));
  if (!b.has("\\Flagged") && a.has("\\Flagged")) w.push(t("js.ch_flagged"));
  if (b.has("\\Flagged") && !a.has("\\Flagged")) w.push(t("js.ch_unflagged"));
  if (!b.has("\\Answered") && a.has("\\Answered")) w.push(t("js.ch_answered"));
  return w.length ? w.join(", ") : t("js.ch_flags_changed");
}

function whatHappened(m) {
  const v = {Folder: m.folder, ToFolder: m.to_folder || "", StillIn: (m.still_in || []).join(", ")};
  switch (m.change) {
  case "new": return t(m.copy ? "js.ch_row_new_copy" : "js.ch_row_new", v);
  case "flags": return t("js.ch_row_flags", {...v, What: flagChange(m.flags_before || "", m.flags_after || "")});
  }
  return t("js.ch_row_" + m.change, v);
}

function renderChangeRows(d) {
  const rows = d.messages.map((m, i) => {
    const lost = m.change === "deleted" || m.change === "removed";
    const box = el("input", {type: "checkbox", class: "pick", "data-id": String(m.id),
      "aria-label": t(lost ? "js.select_to_restore" : "js.ch_still_there")});
    box.checked = ch.pick.has(m.id);
    box.disabled = !lost;
    return el("tr", {tabindex: i === 0 ? "0" : "-1", "data-i": String(i), class: "c-" + m.change},
      el("td", {class: "pick"}, box),
      el("td", {class: "what", text: whatHappened(m)}),
      el("td", {class: "from", text: m.from || t("js.no_sender")}),
      el("td", {class: "subject", text: m.subject || t("js.no_subject")}),
      el("td", {class: "date", text: m.date ? fmtTime(m.date) : "", title: m.date ? fullTime(m.date) : ""}));
  });
  $("chrows").replaceChildren(...rows);
  const last = Math.min(d.total, d.offset + CPAGE);
  $("chcount").textContent = d.total ? t("js.count", {First: d.offset + 1, Last: last, Total: d.total}) :
    (ch.kind || ch.folder ? t("js.ch_none_of_kind") : "");
  $("chprev").disabled = d.offset === 0;
  $("chnext").disabled = last >= d.total;
}

function renderPick() {
  const n = ch.pick.size;
  $("chsel").hidden = n === 0;
  const from = state.snaps.find((s) => s.id === ch.pickFrom);
  $("chselcount").textContent = t("js.selected", {Count: n, Day: from ? dayName(from.day) : ""});
}

function renderChanges() {
  const d = ch.data;
  $("chsummary").textContent = summary(d);
  $("chfolders").replaceChildren(...shownFolders(d).map(folderItem));
  $("chgroups").replaceChildren(...(d.groups.length ? [el("ul", {}, ...groupItems(d))] : []));
  $("chkinds").replaceChildren(...KINDS.map(([k, label]) => {
    const n = k === "" ? Object.values(d.counts).reduce((a, b) => a + b, 0) : k.split(",").reduce((a, x) => a + (d.counts[x] || 0), 0);
    return el("button", {type: "button", class: "kind", "data-kind": k, "aria-pressed": String(ch.kind === k && !ch.folder), text: t(label, {Count: n})});
  }));
  if (ch.folder) $("chkinds").append(el("span", {class: "infolder", text: t("js.ch_in_folder", {Folder: ch.folder})}));
  renderChangeRows(d);
  renderPick();
}

// ---- selecting
async function groupIDs(folder) {
  if (!ch.groups.has(folder)) {
    const d = await getChanges({from: ch.from, to: ch.to, change: LOST, folder, ids: "1", limit: 1});
    ch.groups.set(folder, d.ids || []);
  }
  return ch.groups.get(folder);
}

$("changes").addEventListener("change", async (ev) => {
  const t = ev.target;
  if (t.classList.contains("pick")) {
    const id = Number(t.dataset.id);
    if (t.checked) ch.pick.add(id); else ch.pick.delete(id);
  } else if (t.classList.contains("pickgroup")) {
    t.disabled = true;
    try {
      for (const id of await groupIDs(t.dataset.folder)) { if (t.checked) ch.pick.add(id); else ch.pick.delete(id); }
    } catch (e) { $("chsummary").textContent = e.message; }
    t.disabled = false;
  } else {
    return;
  }
  // Every box showing the same messages follows.
  for (const b of $("changes").querySelectorAll("input.pick")) b.checked = ch.pick.has(Number(b.dataset.id));
  for (const b of $("changes").querySelectorAll("input.pickgroup")) {
    const ids = ch.groups.get(b.dataset.folder);
    if (ids) b.checked = ids.length > 0 && ids.every((id) => ch.pick.has(id));
  }
  renderPick();
});
$("chclear").addEventListener("click", () => {
  ch.pick.clear();
  for (const b of $("changes").querySelectorAll("input.pick, input.pickgroup")) b.checked = false;
  renderPick();
});
$("chrestore").addEventListener("click", () => {
  const snap = state.snaps.find((s) => s.id === ch.pickFrom);
  if (snap && ch.pick.size) openRestore({snap, ids: [...ch.pick]});
});

// ---- filtering, paging, opening a row
async function filter(kind, folder) {
  ch.kind = kind; ch.folder = folder; ch.offset = 0;
  await loadChanges(ch.from, ch.to, false);
}
$("chkinds").addEventListener("click", (ev) => {
  const b = ev.target.closest("button.kind");
  if (b) filter(b.dataset.kind, "");
});
$("chgroups").addEventListener("click", (ev) => {
  const b = ev.target.closest("button.gfolder, button.gkind");
  if (b) filter(b.dataset.kind, b.dataset.folder);
});
$("chprev").addEventListener("click", () => { ch.offset = Math.max(0, ch.offset - CPAGE); loadChanges(ch.from, ch.to, false); });
$("chnext").addEventListener("click", () => { ch.offset += CPAGE; loadChanges(ch.from, ch.to, false); });
$("chfrom").addEventListener("change", () => { ch.offset = 0; loadChanges($("chfrom").value, $("chto").value, true); });
$("chto").addEventListener("change", () => { ch.offset = 0; loadChanges($("chfrom").value, $("chto").value, true); });

async function openRow(i) {
  const m = ch.data.messages[i];
  if (!m) return;
  const trs = $("chrows").children;
  if (ch.open >= 0 && trs[ch.open]) trs[ch.open].classList.remove("selected");
  ch.open = i;
  trs[i].classList.add("selected");
  // The message as it was: on the earlier day for what went, the later for what came.
  state.openRef = {snap: m.snapshot, id: m.id};
  await showDetail(await api("/snapshots/" + m.snapshot + "/messages/" + m.id));
}
$("chrows").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr");
  if (tr && !ev.target.closest("td.pick")) openRow(Number(tr.dataset.i));
});
$("chrows").addEventListener("keydown", (ev) => {
  const tr = ev.target.closest("tr");
  if (!tr) return;
  const all = [...$("chrows").children], i = all.indexOf(tr);
  let j = i;
  if (ev.key === "ArrowDown") j = Math.min(all.length - 1, i + 1);
  else if (ev.key === "ArrowUp") j = Math.max(0, i - 1);
  else if (ev.key === "Enter") { ev.preventDefault(); openRow(i); return; }
  else if (ev.key === " " && tr.querySelector("input.pick:not(:disabled)")) { ev.preventDefault(); tr.querySelector("input.pick").click(); return; }
  else return;
  ev.preventDefault();
  all[i].tabIndex = -1; all[j].tabIndex = 0; all[j].focus();
});

// ---- entry points: the banner's button, /changes links, the browser's history
$("changesbtn").addEventListener("click", () => {
  if ($("changes").hidden) openChanges(null, null, true); else closeChanges(true);
});
$("chclose").addEventListener("click", () => closeChanges(true));
$("day").addEventListener("change", () => closeChanges(true));

function fromURL() {
  if (location.pathname !== "/changes") { closeChanges(false); return; }
  const p = new URLSearchParams(location.search);
  openChanges(p.get("from"), p.get("to"), false);
}
addEventListener("popstate", fromURL);
ready.then(() => {
  // The button says how much vanished over the kept days, so a bad day is noticed.
  const gone = state.snaps.reduce((n, s) => n + (s.vanished || 0), 0);
  if (gone) $("changesbtn").textContent = t("js.ch_button", {Count: gone});
  if (location.pathname === "/changes") fromURL();
});
