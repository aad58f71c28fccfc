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
const KINDS = [["", "All"], ["deleted,removed", "Deleted"], ["moved", "Moved"], ["new", "New"], ["flags", "Read / flagged"]];
const LOST = "deleted,removed";

const dayName = (day) => new Date(day + "T12:00:00").toLocaleDateString(undefined, {weekday: "short", day: "numeric", month: "short", year: "numeric"});
const plural = (n, one, many) => n + " " + (n === 1 ? one : many);

async function getChanges(params) {
  const res = await fetch("/api/v1/changes?" + new URLSearchParams(params), {headers: {"Accept": "application/json"}});
  if (res.status === 401) { location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search)); throw new Error("logged out"); }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || ("error " + res.status));
  return data;
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
  const opts = () => state.snaps.map((s) => el("option", {value: s.id,
    text: dayName(s.day) + (s.vanished ? " — " + s.vanished + " deleted" : "")}));
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
  $("chsummary").textContent = "Comparing the days…";
  let d;
  try { d = await getChanges(params); } catch (e) {
    $("chsummary").textContent = state.snaps.length < 2 ?
      "There is only one backup of this mailbox so far: there is nothing to compare it with yet." : e.message;
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
  const c = d.counts, span = dayName(d.from_day) + " and " + dayName(d.to_day);
  const parts = [];
  if (c.deleted) parts.push(plural(c.deleted, "message deleted", "messages deleted"));
  if (c.removed) parts.push(plural(c.removed, "message removed from a folder (a copy is still in another)", "messages removed from a folder (a copy is still in another)"));
  if (c.moved) parts.push(plural(c.moved, "moved", "moved"));
  if (c.new) parts.push(plural(c.new, "new message", "new messages"));
  if (c.flags) parts.push(plural(c.flags, "marked read, unread or flagged", "marked read, unread or flagged"));
  const fd = shownFolders(d).filter((f) => f.change === "deleted").length;
  if (fd) parts.unshift(plural(fd, "folder deleted", "folders deleted"));
  if (parts.length === 0 && shownFolders(d).length === 0) return "Nothing changed between " + span + ": no message or folder was deleted, moved or added.";
  if (parts.length === 0) return "Between " + span + " only folders changed; no message was deleted, moved or added.";
  return "Between " + span + ": " + parts.join(", ") + ".";
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
  return el("label", {class: "pickall"}, box, " " + label.replace("{n}", String(n)));
}

function folderItem(f) {
  const li = el("li", {class: "fchange " + f.change, "data-folder": f.name});
  const name = el("strong", {text: f.name});
  if (f.change === "deleted") {
    li.append("🗑️ The folder ", name, " was deleted" + (f.messages ? ", with " + plural(f.messages, "message", "messages") : "") + ". ");
    if (lostIn(f.name)) li.append(pickBox(f.name, "Select its {n} lost messages to restore"));
  } else if (f.change === "renamed") {
    li.append("✏️ The folder ", name, " was renamed to ", el("strong", {text: f.new_name}), ".");
  } else if (f.change === "created") {
    li.append("➕ The folder ", name, " was created.");
  } else if (f.change === "unsubscribed") {
    li.append("👁️ The folder ", name, " is no longer subscribed: it is still there, but your mail program may hide it.");
  } else {
    li.append(name, " " + f.change);
  }
  return li;
}

const GROUPWORD = {deleted: "deleted", removed: "removed (copy kept elsewhere)", moved: "moved away", new: "new", flags: "read/flagged"};

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
        "data-folder": folder, "data-kind": kind, text: g.messages + " " + GROUPWORD[g.change]}));
    });
    if (lostIn(folder) && !deletedFolders.has(folder)) li.append(" ", pickBox(folder, "select all {n} lost"));
    return li;
  });
}

function flagChange(before, after) {
  const b = new Set(before.split(" ").filter(Boolean)), a = new Set(after.split(" ").filter(Boolean));
  const w = [];
  if (!b.has("\\Seen") && a.has("\\Seen")) w.push("marked read");
  if (b.has("\\Seen") && !a.has("\\Seen")) w.push("marked unread");
  if (!b.has("\\Flagged") && a.has("\\Flagged")) w.push("flagged");
  if (b.has("\\Flagged") && !a.has("\\Flagged")) w.push("unflagged");
  if (!b.has("\\Answered") && a.has("\\Answered")) w.push("answered");
  return w.length ? w.join(", ") : "flags changed";
}

function whatHappened(m) {
  switch (m.change) {
  case "deleted": return "Deleted from " + m.folder;
  case "removed": return "Removed from " + m.folder + " (still in " + (m.still_in || []).join(", ") + ")";
  case "moved": return "Moved from " + m.folder + " to " + m.to_folder;
  case "new": return "New in " + m.folder + (m.copy ? " (a copy)" : "");
  case "flags": return flagChange(m.flags_before || "", m.flags_after || "") + " in " + m.folder;
  }
  return m.change + " in " + m.folder;
}

function renderChangeRows(d) {
  const rows = d.messages.map((m, i) => {
    const lost = m.change === "deleted" || m.change === "removed";
    const box = el("input", {type: "checkbox", class: "pick", "data-id": String(m.id),
      "aria-label": lost ? "Select to restore" : "Still in your mailbox"});
    box.checked = ch.pick.has(m.id);
    box.disabled = !lost;
    return el("tr", {tabindex: i === 0 ? "0" : "-1", "data-i": String(i), class: "c-" + m.change},
      el("td", {class: "pick"}, box),
      el("td", {class: "what", text: whatHappened(m)}),
      el("td", {class: "from", text: m.from || "(no sender)"}),
      el("td", {class: "subject", text: m.subject || "(no subject)"}),
      el("td", {class: "date", text: m.date ? fmtTime(m.date) : ""}));
  });
  $("chrows").replaceChildren(...rows);
  const last = Math.min(d.total, d.offset + CPAGE);
  $("chcount").textContent = d.total ? (d.offset + 1) + "–" + last + " of " + d.total : (ch.kind || ch.folder ? "none of this kind" : "");
  $("chprev").disabled = d.offset === 0;
  $("chnext").disabled = last >= d.total;
}

function renderPick() {
  const n = ch.pick.size;
  $("chsel").hidden = n === 0;
  const from = state.snaps.find((s) => s.id === ch.pickFrom);
  $("chselcount").textContent = plural(n, "message", "messages") + " selected, from the backup of " + (from ? dayName(from.day) : "");
}

function renderChanges() {
  const d = ch.data;
  $("chsummary").textContent = summary(d);
  $("chfolders").replaceChildren(...shownFolders(d).map(folderItem));
  $("chgroups").replaceChildren(...(d.groups.length ? [el("ul", {}, ...groupItems(d))] : []));
  $("chkinds").replaceChildren(...KINDS.map(([k, label]) => {
    const n = k === "" ? Object.values(d.counts).reduce((a, b) => a + b, 0) : k.split(",").reduce((a, x) => a + (d.counts[x] || 0), 0);
    return el("button", {type: "button", class: "kind", "data-kind": k, "aria-pressed": String(ch.kind === k && !ch.folder), text: label + " (" + n + ")"});
  }));
  if (ch.folder) $("chkinds").append(el("span", {class: "infolder", text: "in " + ch.folder}));
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
  if (gone) $("changesbtn").textContent = "What changed? (" + gone + " deleted)";
  if (location.pathname === "/changes") fromURL();
});
