// The three-pane webmail. Every piece of message data is put into the page
// with textContent or as an attribute value, never as HTML; message bodies
// are documents of their own, in a sandboxed frame. Messages come from
// i18n.js (t, LANG, NUM).
"use strict";
const $ = (id) => document.getElementById(id);

const PAGE = 50;
const state = {snaps: [], snap: null, folders: [], folder: "INBOX", query: "", scope: "folder",
  sort: "-date", offset: 0, total: 0, rows: [], sel: -1, open: null, openRef: null,
  pick: new Set()}; // ids of the day shown, selected to restore (a search over every day selects none)

// busy shows the loading indicator while any request has taken more than
// 300 ms.
let pending = 0;
function busy(p) {
  pending++;
  const timer = setTimeout(() => { $("loading").hidden = false; document.body.setAttribute("aria-busy", "true"); }, 300);
  return p.finally(() => {
    clearTimeout(timer);
    if (--pending === 0) { $("loading").hidden = true; document.body.removeAttribute("aria-busy"); }
  });
}

async function api(path) {
  const res = await busy(fetch("/api/v1" + path, {headers: API_HEADERS}));
  if (res.status === 401) { loggedOut(); throw new Error("logged out"); }
  if (!res.ok) throw await apiFailure(res);
  return res.json();
}

// loggedOut sends an expired session to the login page, which says so and
// brings the user back here.
function loggedOut() {
  location.assign("/login?expired=1&next=" + encodeURIComponent(location.pathname + location.search));
}

// SHOWN_ATTRS are the attributes a person reads (values and data-* are
// the names as the server knows them).
const SHOWN_ATTRS = new Set(["title", "aria-label", "alt", "placeholder"]);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = shown(v);
    else e.setAttribute(k, SHOWN_ATTRS.has(k) ? shown(v) : v);
  }
  for (const k of kids) e.append(k);
  return e;
}

// ---- dates people match to memory, in the page's language
const localDay = (d) => d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
const clock = (d) => d.toLocaleTimeString(LANG, {hour: "2-digit", minute: "2-digit"});
// fmtTime is a message's date in the list: the time today, "yesterday"
// and the time, the day and month this year, the full date before.
function fmtTime(iso) {
  const d = new Date(iso), now = new Date();
  if (isNaN(d)) return "";
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (localDay(d) === localDay(now)) return clock(d);
  if (localDay(d) === localDay(yesterday)) return t("js.yesterday_at", {Time: clock(d)});
  if (d.getFullYear() === now.getFullYear()) return d.toLocaleDateString(LANG, {day: "numeric", month: "short"});
  return d.toLocaleDateString(LANG, {day: "numeric", month: "short", year: "numeric"});
}
// fullTime is a date in full, with the weekday, in the user's time zone.
const fullTime = (iso) => new Date(iso).toLocaleString(LANG, {dateStyle: "full", timeStyle: "short"});
// dayName names a backup day (YYYY-MM-DD): today, yesterday, or its
// weekday and date.
function dayName(day) {
  const now = new Date();
  if (day === localDay(now)) return t("js.today");
  if (day === localDay(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1))) return t("js.yesterday");
  const d = new Date(day + "T12:00:00");
  return d.toLocaleDateString(LANG, {weekday: "short", day: "numeric", month: "short",
    year: d.getFullYear() === now.getFullYear() ? undefined : "numeric"});
}
// Backup times are shown as the server gives them, in the provider's zone,
// since that zone defines the days.
const snapTime = (iso) => iso.slice(11, 16) + " (UTC" + (iso.length > 19 ? iso.slice(19).replace("Z", "") : "") + ")";
// Sizes in decimal units, as the server writes them (internal/bytesize).
function fmtSize(n) {
  if (n < 1000) return NUM.format(n) + " B";
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let v = n / 1000, i = 0;
  while (v >= 999.95 && i < units.length - 1) { v /= 1000; i++; }
  return v.toLocaleString(LANG, {minimumFractionDigits: 1, maximumFractionDigits: 1}) + " " + units[i];
}

// ---- days
async function loadSnapshots() {
  state.snaps = await api("/snapshots");
  const sel = $("day");
  // Next to each day, how many messages vanished that day: the bad day stands out.
  sel.replaceChildren(...state.snaps.map((s) => el("option", {value: s.id, "data-vanished": s.vanished, "data-day": s.day,
    text: s.vanished ? t("js.day_option_deleted", {Day: dayName(s.day), Time: s.taken_at.slice(11, 16), Count: s.vanished}) :
      t("js.day_option", {Day: dayName(s.day), Time: s.taken_at.slice(11, 16)})})));
  if (state.snaps.length === 0) {
    $("when").textContent = t("js.no_backup");
    return;
  }
  if (location.pathname === "/" && location.search) {
    await applyURL();
    return;
  }
  await selectSnapshot(state.snaps[0].id);
}

// ---- the URL carries the day, the folder, the search and the open
// message: a reload, the back button and a saved link keep them.
let applying = false;

function urlOfState() {
  const p = new URLSearchParams();
  if (state.snap) p.set("day", state.snap.day);
  if (state.query) { p.set("q", state.query); p.set("scope", state.scope); } else if (state.folder) p.set("folder", state.folder);
  if (state.openRef) {
    p.set("msg", String(state.openRef.id));
    if (state.snap && state.openRef.snap !== state.snap.id) p.set("msgday", String(state.openRef.snap));
  }
  return "/?" + p;
}

function pushURL() {
  if (applying || location.pathname !== "/") return;
  const url = urlOfState();
  if (url !== location.pathname + location.search) history.pushState(null, "", url);
}

async function applyURL() {
  const p = new URLSearchParams(location.search);
  applying = true;
  try {
    const snap = state.snaps.find((s) => s.day === p.get("day")) || state.snaps[0];
    if (p.get("folder")) state.folder = p.get("folder");
    state.query = p.get("q") || "";
    state.scope = ["folder", "all", "days"].includes(p.get("scope")) ? p.get("scope") : "folder";
    $("q").value = state.query; $("scope").value = state.scope;
    await selectSnapshot(snap.id);
    const id = Number(p.get("msg"));
    if (id) {
      const snapID = Number(p.get("msgday")) || snap.id;
      state.openRef = {snap: snapID, id};
      await showDetail(await api("/snapshots/" + snapID + "/messages/" + id));
      const i = state.rows.findIndex((m) => m.id === id);
      if (i >= 0) selectRow(i, false);
    }
  } finally {
    applying = false;
  }
}
addEventListener("popstate", () => {
  if (location.pathname === "/" && state.snaps.length) applyURL().catch(() => {});
});

async function selectSnapshot(id) {
  state.snap = state.snaps.find((s) => s.id === Number(id));
  state.pick.clear(); // a selection belongs to one day
  renderListPick();
  $("day").value = String(state.snap.id);
  $("when").textContent = t("js.when", {Day: dayName(state.snap.day), Time: snapTime(state.snap.taken_at),
    Count: state.snap.messages});
  $("when").dataset.day = state.snap.day;
  state.folders = await api("/snapshots/" + state.snap.id + "/folders");
  if (!state.folders.some((f) => f.name === state.folder && f.selectable)) {
    const first = state.folders.find((f) => f.selectable);
    state.folder = first ? first.name : "";
  }
  renderTree();
  closeMessage();
  state.offset = 0;
  await loadList();
}

// ---- folder tree
const ICONS = {"\\Inbox": "📥", "\\Sent": "📤", "\\Drafts": "📝", "\\Trash": "🗑️", "\\Junk": "⚠️",
  "\\Archive": "🗄️", "\\Flagged": "⭐", "\\All": "📚"};

// folderOrder puts INBOX first, then the rest by name, parents before
// their children.
function folderOrder(a, b) {
  const pa = a.delimiter ? a.name.split(a.delimiter) : [a.name];
  const pb = b.delimiter ? b.name.split(b.delimiter) : [b.name];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    if (i === 0 && pa[0].toUpperCase() === "INBOX") return -1;
    if (i === 0 && pb[0].toUpperCase() === "INBOX") return 1;
    return pa[i].localeCompare(pb[i]);
  }
  return pa.length - pb.length;
}

// collapsed: the folders whose subfolders the user folded away,
// remembered in this browser.
const collapsed = new Set(JSON.parse(localStorage.getItem("mtm.collapsed") || "[]"));
const hasChildren = (f) => !!f.delimiter && state.folders.some((g) => g.name.startsWith(f.name + f.delimiter));
const hiddenBy = (f) => !!f.delimiter && [...collapsed].some((c) => f.name.startsWith(c + f.delimiter));

function toggleFolder(name, open) {
  if (open) collapsed.delete(name); else collapsed.add(name);
  localStorage.setItem("mtm.collapsed", JSON.stringify([...collapsed]));
  renderTree();
  const b = $("tree").querySelector(`button.folder[data-name="${CSS.escape(name)}"]`);
  if (b) { for (const x of $("tree").querySelectorAll("button.folder")) x.tabIndex = -1; b.tabIndex = 0; b.focus(); }
}

function renderTree() {
  const items = [...state.folders].sort(folderOrder).filter((f) => !hiddenBy(f) || f.name === state.folder).map((f) => {
    const parts = f.delimiter ? f.name.split(f.delimiter) : [f.name];
    const use = f.name.toUpperCase() === "INBOX" ? "\\Inbox" : f.special_use;
    const btn = el("button", {type: "button", class: "folder", "data-name": f.name, tabindex: "-1"},
      el("span", {class: "icon", "aria-hidden": "true", text: ICONS[use] || (f.selectable ? "📁" : "📂")}),
      el("span", {class: "fname", text: parts[parts.length - 1]}),
      el("span", {class: "fcount", text: f.selectable ? String(f.messages) : ""}));
    btn.style.paddingLeft = (0.4 + parts.length - 1) + "em"; // CSSOM: allowed by the CSP
    if (!f.selectable) btn.setAttribute("aria-disabled", "true");
    if (!f.subscribed) {
      btn.classList.add("unsub");
      btn.title = t("js.not_subscribed", {Folder: f.name});
      btn.append(el("span", {class: "badge", text: t("js.unsubscribed")}));
    } else {
      btn.title = shown(f.name);
    }
    if (f.name === state.folder && !state.query) { btn.classList.add("current"); btn.setAttribute("aria-current", "true"); btn.tabIndex = 0; }
    const li = el("li", {role: "treeitem", "aria-level": String(parts.length)});
    if (hasChildren(f)) {
      const open = !collapsed.has(f.name);
      li.setAttribute("aria-expanded", String(open));
      li.append(el("button", {type: "button", class: "twisty", tabindex: "-1", "data-name": f.name,
        "aria-label": t(open ? "js.fold" : "js.unfold", {Folder: f.name}), text: open ? "▾" : "▸"}));
    } else {
      li.append(el("span", {class: "twisty", "aria-hidden": "true"}));
    }
    li.append(btn);
    return li;
  });
  $("tree").replaceChildren(...items);
  if (!$("tree").querySelector("[tabindex='0']") && items.length) items[0].firstChild.tabIndex = 0;
}

$("tree").addEventListener("click", (ev) => {
  const tw = ev.target.closest("button.twisty");
  if (tw) { toggleFolder(tw.dataset.name, collapsed.has(tw.dataset.name)); return; }
  const b = ev.target.closest("button.folder");
  if (b && b.getAttribute("aria-disabled") !== "true") openFolder(b.dataset.name);
});
$("tree").addEventListener("keydown", (ev) => {
  const all = [...$("tree").querySelectorAll("button.folder")];
  const i = all.indexOf(document.activeElement);
  if (i < 0) return;
  let j = i;
  const li = all[i].closest("li");
  if (ev.key === "ArrowLeft" && li.getAttribute("aria-expanded") === "true") { ev.preventDefault(); toggleFolder(all[i].dataset.name, false); return; }
  if (ev.key === "ArrowRight" && li.getAttribute("aria-expanded") === "false") { ev.preventDefault(); toggleFolder(all[i].dataset.name, true); return; }
  if (ev.key === "ArrowDown") j = Math.min(all.length - 1, i + 1);
  else if (ev.key === "ArrowUp") j = Math.max(0, i - 1);
  else if (ev.key === "Home") j = 0;
  else if (ev.key === "End") j = all.length - 1;
  else return;
  ev.preventDefault();
  all[i].tabIndex = -1; all[j].tabIndex = 0; all[j].focus();
});

async function openFolder(name) {
  state.folder = name; state.query = ""; $("q").value = ""; state.offset = 0;
  renderTree(); closeMessage();
  document.body.className = "app show-list";
  pushURL();
  await loadList();
}

// ---- message list
async function loadList() {
  if (!state.snap) return;
  const p = new URLSearchParams({offset: state.offset, limit: PAGE, sort: state.sort});
  if (state.query && state.scope === "days") {
    $("listtitle").textContent = t("js.search_days_title", {Query: state.query});
    p.delete("sort");
    p.set("q", state.query);
    const res = dayHitRows(await api("/search?" + p));
    renderRows(res);
    searchNote(res);
    return;
  }
  if (state.query) {
    p.set("q", state.query);
    if (state.scope === "folder" && state.folder) p.set("folder", state.folder);
    $("listtitle").textContent = state.scope === "folder" ? t("js.search_folder_title", {Query: state.query, Folder: state.folder}) :
      t("js.search_all_title", {Query: state.query});
  } else {
    if (!state.folder) { renderRows({total: 0, messages: []}); return; }
    p.set("folder", state.folder);
    $("listtitle").textContent = shown(state.folder);
  }
  const res = await api("/snapshots/" + state.snap.id + "/messages?" + p);
  renderRows(res);
  searchNote(state.query ? res : null);
}

// searchNote says what a search result may not show: messages the day's
// index does not hold yet, or nothing found (then the other days).
function searchNote(res) {
  let text = "";
  if (res && res.indexing) text = t("js.search_indexing", {Indexed: res.indexing.indexed, Total: res.indexing.total});
  else if (res && res.total === 0) text = state.scope === "days" ? t("js.search_none_days") : t("js.search_none");
  $("searchnote").hidden = !text;
  $("searchnotetext").textContent = text;
  $("searchdays").hidden = !(res && res.total === 0 && state.scope !== "days");
}
$("searchdays").addEventListener("click", () => {
  $("scope").value = "days";
  $("search").requestSubmit();
});

// ---- search over every day: one row per message, with where it was and is
const shortDay = (day) => new Date(day + "T12:00:00").toLocaleDateString(LANG, {day: "numeric", month: "short"});

// dayHitRows makes the results rows of the list: each opens the message on
// the latest day that has it, and says where it was and where it is now.
function dayHitRows(res) {
  return {total: res.total, more: res.more, messages: res.results.map((h) => {
    const spans = new Map(); // folder -> [first day, last day]
    for (const d of h.days) {
      const s = spans.get(d.folder);
      if (s) s[1] = d.day; else spans.set(d.folder, [d.day, d.day]);
    }
    const where = [...spans].map(([f, [a, b]]) => f + " (" + (a === b ? shortDay(a) : shortDay(a) + "–" + shortDay(b)) + ")").join(", ");
    const now = h.now.state === "deleted" ? t("js.hit_deleted", {Day: shortDay(h.now.day)}) :
      t(h.now.state === "moved" ? "js.hit_moved" : "js.hit_live", {Folders: h.now.folders.join(", ")});
    return {id: h.id, snapshot: h.snapshot, from: h.from, subject: h.subject, date: h.date, size: h.size,
      has_attachments: h.has_attachments, flags: ["\\Seen"], where: t("js.hit_where", {Where: where, Now: now}), gone: h.now.state === "deleted"};
  })};
}

function flagIcons(m) {
  const f = new Set(m.flags);
  let s = f.has("\\Seen") ? "" : "●";
  if (f.has("\\Flagged")) s += "★";
  if (f.has("\\Answered")) s += "↩";
  if (m.has_attachments) s += "📎";
  return s;
}
function flagWords(m) {
  const f = new Set(m.flags), w = [];
  w.push(t(f.has("\\Seen") ? "js.read" : "js.unread"));
  if (f.has("\\Flagged")) w.push(t("js.flagged"));
  if (f.has("\\Answered")) w.push(t("js.answered"));
  if (m.has_attachments) w.push(t("js.has_attachments"));
  return w.join(", ");
}

function renderRows(res) {
  state.total = res.total; state.rows = res.messages; state.sel = -1;
  const rows = res.messages.map((m, i) => {
    const flags = el("td", {class: "flags", title: flagWords(m)});
    if (!m.snapshot) { // a message of the day shown: it can be selected to restore
      const box = el("input", {type: "checkbox", class: "pick", "data-id": String(m.id), "aria-label": t("js.select_to_restore")});
      box.checked = state.pick.has(m.id);
      flags.append(box);
    }
    flags.append(flagIcons(m));
    // Its accessible name is what a sighted user reads on the row.
    const label = t("js.row_label", {From: m.from || t("js.no_sender"), Subject: m.subject || t("js.no_subject"),
      Date: m.date ? fullTime(m.date) : "", State: flagWords(m)});
    const tr = el("tr", {tabindex: "-1", "data-i": String(i), "aria-label": label}, flags,
      el("td", {class: "from", text: m.from || t("js.no_sender")}),
      el("td", {class: "subject", text: m.subject || t("js.no_subject")}),
      el("td", {class: "date", text: fmtTime(m.date), title: m.date ? fullTime(m.date) : ""}),
      el("td", {class: "size", text: fmtSize(m.size)}));
    if (!m.flags.includes("\\Seen")) tr.classList.add("unread");
    if (state.query && state.scope === "all") tr.children[2].append(el("span", {class: "infolder", text: m.folder}));
    if (m.where) {
      tr.children[2].append(el("span", {class: "infolder" + (m.gone ? " gone" : ""), text: m.where}));
      if (m.gone) tr.children[0].append(" 🗑️");
    }
    return tr;
  });
  $("rows").replaceChildren(...rows);
  if (rows.length) rows[0].tabIndex = 0;
  $("empty").hidden = rows.length > 0;
  const last = Math.min(state.total, state.offset + PAGE);
  $("count").textContent = !state.total ? "" : res.more ? t("js.count_more", {First: state.offset + 1, Last: last, Total: state.total}) :
    t("js.count", {First: state.offset + 1, Last: last, Total: state.total});
  $("prev").disabled = state.offset === 0;
  $("next").disabled = last >= state.total;
}

// msgSnap is the day a row's message is opened on: its own for a search
// over every day, else the day shown.
const msgSnap = (m) => m.snapshot || state.snap.id;
function rawURL(m) { return "/api/v1/snapshots/" + msgSnap(m) + "/messages/" + m.id + "/raw"; }

function selectRow(i, focus) {
  const trs = $("rows").children;
  if (i < 0 || i >= trs.length) return;
  if (state.sel >= 0 && trs[state.sel]) { trs[state.sel].classList.remove("selected"); trs[state.sel].tabIndex = -1; }
  state.sel = i;
  trs[i].classList.add("selected"); trs[i].tabIndex = 0;
  if (focus) trs[i].focus();
}

$("rows").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr");
  if (!tr || ev.target.closest("input.pick")) return;
  selectRow(Number(tr.dataset.i), true);
  openMessage(state.rows[Number(tr.dataset.i)]);
});
// wide: the three panes show together, so the reading pane follows the
// selection; on a phone a message opens only on Enter.
const wide = () => innerWidth > 720;
function step(to) {
  selectRow(to, true);
  if (wide() && state.rows[state.sel]) openMessage(state.rows[state.sel]);
}
$("rows").addEventListener("keydown", async (ev) => {
  const i = state.sel < 0 ? 0 : state.sel;
  if (ev.key === "ArrowDown" || ev.key === "j") { ev.preventDefault(); step(state.sel < 0 ? 0 : Math.min(state.rows.length - 1, i + 1)); }
  else if (ev.key === "ArrowUp" || ev.key === "k") { ev.preventDefault(); step(Math.max(0, i - 1)); }
  else if (ev.key === "Home") { ev.preventDefault(); selectRow(0, true); }
  else if (ev.key === "End") { ev.preventDefault(); selectRow(state.rows.length - 1, true); }
  else if (ev.key === "Enter") { ev.preventDefault(); const tr = ev.target.closest("tr"); if (tr) { selectRow(Number(tr.dataset.i), true); openMessage(state.rows[state.sel]); } }
  else if (ev.key === "PageDown" && !$("next").disabled) { ev.preventDefault(); await page(1); }
  else if (ev.key === "PageUp" && !$("prev").disabled) { ev.preventDefault(); await page(-1); }
});
$("rows").addEventListener("focusin", (ev) => {
  const tr = ev.target.closest("tr");
  if (tr && state.sel !== Number(tr.dataset.i)) selectRow(Number(tr.dataset.i), false);
});

// ---- selecting messages of the day shown, to restore them
function renderListPick() {
  const n = state.pick.size;
  $("listsel").hidden = n === 0;
  $("listselcount").textContent = t("js.selected", {Count: n, Day: state.snap ? dayName(state.snap.day) : ""});
}
$("rows").addEventListener("change", (ev) => {
  const box = ev.target.closest("input.pick");
  if (!box) return;
  if (box.checked) state.pick.add(Number(box.dataset.id)); else state.pick.delete(Number(box.dataset.id));
  renderListPick();
});
$("listclear").addEventListener("click", () => {
  state.pick.clear();
  for (const b of $("rows").querySelectorAll("input.pick")) b.checked = false;
  renderListPick();
});
$("listrestore").addEventListener("click", () => {
  if (state.snap && state.pick.size) openRestore({snap: state.snap, ids: [...state.pick]});
});

async function page(dir) {
  state.offset = Math.max(0, state.offset + dir * PAGE);
  await loadList();
  selectRow(0, true);
}
$("prev").addEventListener("click", () => page(-1));
$("next").addEventListener("click", () => page(1));
$("sort").addEventListener("change", () => { state.sort = $("sort").value; state.offset = 0; renderSort(); loadList(); });
// A column's header sorts by it; again, the other way round.
$("msgs").querySelector("thead").addEventListener("click", (ev) => {
  const th = ev.target.closest("th[data-sort]");
  if (!th) return;
  const key = th.dataset.sort;
  state.sort = state.sort === key ? "-" + key : state.sort === "-" + key ? key : (key === "date" || key === "size" ? "-" : "") + key;
  $("sort").value = state.sort; state.offset = 0;
  renderSort();
  loadList();
});
function renderSort() {
  for (const th of $("msgs").querySelectorAll("th[data-sort]")) {
    const key = th.dataset.sort;
    th.setAttribute("aria-sort", state.sort === key ? "ascending" : state.sort === "-" + key ? "descending" : "none");
  }
}
renderSort();
$("closekeys").addEventListener("click", () => $("keys").close());

// ---- context menu on a row
function showMenu(m, x, y) {
  const menu = $("menu");
  $("menu-download").href = rawURL(m);
  menu.dataset.id = String(m.id);
  menu.hidden = false;
  menu.style.left = Math.min(x, innerWidth - menu.offsetWidth - 4) + "px";
  menu.style.top = Math.min(y, innerHeight - menu.offsetHeight - 4) + "px";
  $("menu-download").focus();
}
function hideMenu() { $("menu").hidden = true; }
$("rows").addEventListener("contextmenu", (ev) => {
  const tr = ev.target.closest("tr");
  if (!tr) return;
  ev.preventDefault();
  selectRow(Number(tr.dataset.i), false);
  const r = tr.getBoundingClientRect();
  const x = ev.clientX || r.left + 20, y = ev.clientY || r.bottom;
  showMenu(state.rows[Number(tr.dataset.i)], x, y);
});
$("menu").addEventListener("keydown", (ev) => {
  const items = [$("menu-download"), $("menu-source")];
  const i = items.indexOf(document.activeElement);
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") { ev.preventDefault(); items[(i + 1) % 2].focus(); }
  if (ev.key === "Escape") { hideMenu(); selectRow(state.sel, true); }
});
$("menu-download").addEventListener("click", () => setTimeout(hideMenu, 0));
$("menu-source").addEventListener("click", () => {
  const m = state.rows.find((r) => String(r.id) === $("menu").dataset.id);
  hideMenu();
  if (m) viewSource(rawURL(m));
});
document.addEventListener("click", (ev) => { if (!$("menu").contains(ev.target)) hideMenu(); });

// ---- reading pane
function closeMessage() {
  state.open = null; state.openRef = null;
  $("rtools").hidden = true; $("body").hidden = true; $("text").hidden = true;
  $("body").removeAttribute("src");
  $("rhead").replaceChildren(); $("atts").replaceChildren();
  $("placeholder").hidden = false;
}

async function openMessage(m) {
  state.openRef = {snap: msgSnap(m), id: m.id};
  pushURL();
  await showDetail(await api("/snapshots/" + msgSnap(m) + "/messages/" + m.id));
}

async function showDetail(d) {
  state.open = d;
  document.body.className = "app show-reader";
  $("placeholder").hidden = true;
  $("rtools").hidden = false;
  $("download").href = d.base + "/raw";
  $("print").href = d.base + "/print";
  const h = d.headers;
  const date = h.time ? el("span", {title: h.date, text: fullTime(h.time)}) : h.date;
  const rows = [[t("js.h_from"), h.from], [t("js.h_to"), h.to], [t("js.h_cc"), h.cc], [t("js.h_date"), date]].filter((r) => r[1]);
  $("rhead").replaceChildren(el("h2", {text: h.subject || d.subject || t("js.no_subject")}),
    el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {text: k}), el("dd", {}, v)])),
    ...(d.too_large ? [el("p", {class: "note", text: t("js.too_large")})] : []),
    ...(d.unreadable ? [el("p", {class: "note", text: t("js.unreadable")})] : []),
    ...(d.too_complex ? [el("p", {class: "note", text: t("js.too_complex")})] : []));
  // Inline images the body shows are not listed as attachments.
  const listed = d.attachments.filter((a) => !(a.inline && a.content_id && d.has_html));
  $("atts").replaceChildren(...listed.map((a) => attachmentItem(d, a)));
  $("remote").hidden = !d.remote_images;
  $("remote").textContent = t("js.remote_images", {Count: d.remote_images});
  if (d.has_html) {
    $("text").hidden = true;
    $("body").hidden = false;
    $("body").src = d.base + "/body";
  } else {
    $("body").hidden = true;
    $("body").removeAttribute("src");
    $("text").hidden = false;
    $("text").textContent = d.text;
  }
}

function attachmentItem(d, a) {
  const name = a.file_name || (a.is_message ? t("js.attached_message") : t("js.attachment_n", {N: a.index + 1}));
  const li = el("li", {}, el("a", {href: d.base + "/attachments/" + a.index, download: "", text: "📎 " + name}),
    el("span", {class: "asize", text: " " + fmtSize(a.size) + " · " + a.content_type}));
  // The server says what can be previewed: raster pictures (never SVG) and PDFs.
  if (a.preview === "image") {
    li.append(el("img", {class: "thumb", src: d.base + "/attachments/" + a.index + "?view=1", alt: name, loading: "lazy"}));
  }
  if (a.preview === "pdf") {
    const b = el("button", {type: "button", text: t("js.preview")});
    b.addEventListener("click", () => previewPDF(d.base + "/attachments/" + a.index, name, a.size));
    li.append(" ", b);
  }
  if (a.is_message) {
    const part = d.base.includes("/parts/") ? d.base + "." + a.index : d.base + "/parts/" + a.index;
    const b = el("button", {type: "button", text: t("js.view_message")});
    b.addEventListener("click", async () => {
      const res = await fetch(part + "/message", {headers: API_HEADERS});
      if (res.ok) showDetail(await res.json());
    });
    li.append(" ", b);
  }
  return li;
}

// ---- PDF preview: the file is drawn by PDF.js in a sandboxed frame
// (/pdfview, an origin of its own that can reach nothing of the webmail);
// this page fetches the bytes and posts them to it, and the frame answers
// with its page count or that it could not read them.
const PDF_MAX = 30 << 20;
let pdfURL = "";
let pdfSeq = 0; // which preview the frame's answers are about

function previewPDF(url, name, size) {
  pdfURL = url;
  pdfSeq++;
  $("pdftitle").textContent = shown(name);
  $("pdfdownload").href = url;
  const status = $("pdfstatus");
  if (size > PDF_MAX) {
    status.textContent = t("js.pdf_too_large");
    $("pdfframe").hidden = true;
    $("pdf").showModal();
    return;
  }
  status.textContent = t("js.pdf_opening");
  $("pdfframe").hidden = false;
  $("pdfframe").src = "/pdfview";
  $("pdf").showModal();
}

window.addEventListener("message", async (ev) => {
  const frame = $("pdfframe");
  if (ev.source !== frame.contentWindow || !ev.data || !$("pdf").open) return;
  const m = ev.data, status = $("pdfstatus");
  if (m.ready) {
    const url = pdfURL, seq = pdfSeq;
    const res = await fetch(url);
    if (seq !== pdfSeq) return;
    if (!res.ok) { status.textContent = t("js.pdf_failed"); return; }
    const buf = await res.arrayBuffer();
    if (seq !== pdfSeq) return;
    frame.contentWindow.postMessage({pdf: buf, seq}, "*", [buf]);
  } else if (m.seq !== pdfSeq) {
    return; // about a file shown before
  } else if (m.error) {
    status.textContent = t(m.error === "PasswordException" ? "js.pdf_password" : "js.pdf_failed");
  } else if (typeof m.pages === "number" && m.drawn === m.shown) {
    status.textContent = m.shown < m.pages ? t("js.pdf_partial", {Count: m.pages, Shown: m.shown}) : t("js.pdf_pages", {Count: m.pages});
  }
});
$("closepdf").addEventListener("click", () => $("pdf").close());
$("pdf").addEventListener("close", () => { pdfURL = ""; pdfSeq++; $("pdfframe").removeAttribute("src"); });

$("remote").addEventListener("click", () => {
  if (!state.open) return;
  $("body").src = state.open.base + "/body?remote=1";
  $("remote").hidden = true;
});
$("viewsource").addEventListener("click", () => { if (state.open) viewSource(state.open.base + "/raw"); });
$("to-list").addEventListener("click", () => { document.body.className = "app show-list"; selectRow(state.sel, true); });
$("to-folders").addEventListener("click", () => { document.body.className = "app show-folders"; });

async function viewSource(url) {
  const res = await fetch(url);
  if (!res.ok) return;
  const buf = await res.arrayBuffer();
  let text;
  try { text = new TextDecoder("utf-8", {fatal: true}).decode(buf); } catch (e) { text = new TextDecoder("windows-1252").decode(buf); }
  $("sourcetext").textContent = text;
  $("source").showModal();
}
$("closesource").addEventListener("click", () => $("source").close());

// ---- search, days, logout
$("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.query = $("q").value.trim(); state.scope = $("scope").value; state.offset = 0;
  renderTree(); closeMessage();
  pushURL();
  loadList();
});
$("day").addEventListener("change", async () => { await selectSnapshot($("day").value); pushURL(); });
$("logout").addEventListener("click", async () => {
  await fetch("/api/v1/session", {method: "DELETE"});
  location.assign("/login");
});
document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (ev.key === "?" && !typing) { ev.preventDefault(); $("keys").showModal(); }
  if (ev.key === "/" && !typing) { ev.preventDefault(); $("q").focus(); }
  if (ev.key === "Escape") hideMenu();
});

// ready: the days are loaded (changes.js waits for it).
const ready = loadSnapshots().catch((e) => { $("when").textContent = t("js.cannot_load", {Error: e.message}); });
