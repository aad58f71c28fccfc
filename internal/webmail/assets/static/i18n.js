// The page's messages (internal/i18n, ids js.*) in its language, for every
// page's scripts: t(key, vars) and the language's number format.
"use strict";
const LANG = document.documentElement.lang || "en";
const MSGS = JSON.parse((document.getElementById("i18n") || {}).textContent || "{}");
const PLURAL = new Intl.PluralRules(LANG);
const NUM = new Intl.NumberFormat(LANG);
// t returns message key with its {{.Name}} variables; a Count chooses the
// plural form. Numbers are written the language's way.
function t(key, vars) {
  const forms = MSGS[key];
  if (!forms) return key;
  const text = (vars && typeof vars.Count === "number" && forms[PLURAL.select(vars.Count)]) || forms.other;
  return text.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, k) => {
    const v = vars ? vars[k] : undefined;
    return v === undefined ? "" : typeof v === "number" ? NUM.format(v) : shown(String(v));
  });
}

// API_HEADERS ask the API for JSON, with its errors in the page's language.
const API_HEADERS = {"Accept": "application/json", "Accept-Language": LANG};
// apiFailure is the Error of a failed API answer: the server's words for
// the user, or its status.
async function apiFailure(res) {
  const data = await res.json().catch(() => ({}));
  return new Error(data.error || t("js.error_status", {Status: res.status}));
}

// shown is a name from a mailbox as the page shows it: without the
// bidirectional controls that would reorder it ("invoice\u202efdp.exe"
// shows as "invoiceexe.pdf"). The name itself, as the server knows it, is
// kept for requests.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
function shown(s) { return String(s).replace(BIDI, ""); }
