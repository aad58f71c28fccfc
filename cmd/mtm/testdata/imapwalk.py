"""Walks an IMAP account with Python's imaplib, an IMAP client that shares
no code with mtm, and prints what it saw as JSON: every folder LIST shows
(name on the wire, attributes), and for every selectable folder its
UIDVALIDITY and each message's UID, FLAGS, RFC822.SIZE, INTERNALDATE,
BODYSTRUCTURE and ENVELOPE, parsed into nested lists (NIL is null, strings
are strings whether sent quoted or as literals).

    python3 imapwalk.py HOST PORT USER PASSWORD
"""
import email.header
import email.utils
import imaplib
import json
import re
import sys

TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|\{(\d+)\}$|([^\s()"]+))')


def tokens(data):
    """Yields the tokens of an imaplib response: a list of bytes and
    (text, literal) tuples. Literals are strings."""
    for item in data:
        if isinstance(item, tuple):
            text, literal = item
        else:
            text, literal = item, None
        pos = 0
        while True:
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                break
            pos = m.end()
            if m.group(1):
                yield "("
            elif m.group(2):
                yield ")"
            elif m.group(3) is not None:
                yield ("s", re.sub(rb'\\(.)', rb'\1', m.group(3)).decode("utf-8", "replace"))
            elif m.group(4):
                pass  # the literal follows
            else:
                atom = m.group(5).decode("utf-8", "replace")
                yield None if atom.upper() == "NIL" else ("a", atom)
        if literal is not None:
            yield ("s", literal.decode("utf-8", "replace"))


def parse(toks):
    """Nested lists of the tokens: strings and atoms as str, NIL as None."""
    out = []
    stack = [out]
    for t in toks:
        if t == "(":
            stack.append([])
        elif t == ")":
            inner = stack.pop()
            stack[-1].append(inner)
        else:
            stack[-1].append(t if t is None else t[1])
    return out


def words(s):
    """A header string with its RFC 2047 encoded words decoded: servers may
    send a raw 8-bit header as 8-bit or as encoded words."""
    if s is None:
        return None
    return str(email.header.make_header(email.header.decode_header(s)))


def envelope(env):
    """ENVELOPE with encoded words decoded and the date as an instant
    (servers may send the Date header as it was or reformatted)."""
    date, subject = env[0], env[1]
    if date is not None:
        try:
            date = email.utils.parsedate_to_datetime(date).isoformat()
        except (TypeError, ValueError):
            pass
    out = [date, words(subject)]
    for addrs in env[2:8]:
        out.append(None if addrs is None else [[words(a[0])] + a[1:] for a in addrs])
    return out + env[8:]


def bodystructure(bs):
    """BODYSTRUCTURE with the ENVELOPEs of message/rfc822 parts as
    envelope() gives them."""
    if not isinstance(bs, list) or not bs:
        return bs
    if isinstance(bs[0], list):  # multipart: the children, then the subtype
        n = 0
        while n < len(bs) and isinstance(bs[n], list):
            n += 1
        return [bodystructure(c) for c in bs[:n]] + bs[n:]
    if len(bs) > 8 and str(bs[0]).lower() == "message" and str(bs[1]).lower() == "rfc822":
        return bs[:7] + [envelope(bs[7]), bodystructure(bs[8])] + bs[9:]
    return bs


def fetch_items(items):
    """A FETCH response's item list as a dict."""
    return {str(items[i]).upper(): items[i + 1] for i in range(0, len(items) - 1, 2)}


def main():
    host, port, user, password = sys.argv[1:5]
    m = imaplib.IMAP4(host, int(port))
    m.login(user, password)
    typ, data = m.list('""', '"*"')
    assert typ == "OK", data
    folders = []
    for line in data:
        if line is None:
            continue
        attrs, delim, name = parse(tokens([line]))
        folders.append({"name": name, "attrs": sorted(a.lower() for a in attrs)})
    messages = {}
    for f in folders:
        if "\\noselect" in f["attrs"]:
            continue
        name = '"' + f["name"].replace("\\", "\\\\").replace('"', '\\"') + '"'
        typ, data = m.select(name, readonly=True)
        assert typ == "OK", (f["name"], data)
        typ, data = m.response("UIDVALIDITY")
        f["uidvalidity"] = int(data[0])
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE ENVELOPE)")
        assert typ == "OK", (f["name"], data)
        msgs = {}
        parsed = parse(tokens([d for d in data if d is not None]))
        # parsed: seq, [items], seq, [items], ...
        for i in range(0, len(parsed) - 1, 2):
            items = fetch_items(parsed[i + 1])
            flags = sorted(x for x in items.get("FLAGS", []) if x.lower() != "\\recent")
            msgs[items["UID"]] = {"flags": flags, "size": int(items["RFC822.SIZE"]),
                                  "internaldate": items["INTERNALDATE"],
                                  "bodystructure": bodystructure(items["BODYSTRUCTURE"]), "envelope": envelope(items["ENVELOPE"])}
        messages[f["name"]] = msgs
        m.close()
    m.logout()
    json.dump({"folders": folders, "messages": messages}, sys.stdout, indent=1, sort_keys=True)


main()
