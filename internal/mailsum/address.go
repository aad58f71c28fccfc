package mailsum

import (
	"strings"
	"unicode"
)

// formatAddressList renders a raw address-list header value (RFC 5322
// §3.4, obsolete forms included) as "Name <addr>, addr2".
func formatAddressList(raw, hint string) string {
	var out []string
	for _, item := range splitAddressList(raw) {
		if item.group != "" && item.empty {
			out = append(out, clean(decodeText(item.group, hint))+":;")
			continue
		}
		if s := formatAddress(item.text, hint); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// listItem is one address, or an empty group.
type listItem struct {
	text  string // the address as written
	group string // label of an empty group
	empty bool
}

// splitAddressList splits at commas outside quoted strings, comments, angle
// brackets and domain literals. A colon outside them opens a group and a
// semicolon closes it; group labels are dropped except for empty groups.
func splitAddressList(s string) []listItem {
	var items []listItem
	var quoted, angle, literal bool
	depth, start := 0, 0
	group, members := "", 0
	inGroup := false
	add := func(end int) {
		if t := strings.TrimSpace(s[start:end]); t != "" {
			items = append(items, listItem{text: t})
			members++
		}
		start = end + 1
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			switch c {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case angle:
			angle = c != '>'
		case literal:
			literal = c != ']'
		case c == '<':
			angle = true
		case c == '[':
			literal = true
		case c == ',':
			add(i)
		case c == ':' && !inGroup:
			group, members, inGroup = strings.TrimSpace(s[start:i]), 0, true
			start = i + 1
		case c == ';' && inGroup:
			add(i)
			if members == 0 && group != "" {
				items = append(items, listItem{group: group, empty: true})
			}
			inGroup = false
		}
	}
	if start < len(s) {
		add(len(s))
	}
	if inGroup && members == 0 && group != "" {
		items = append(items, listItem{group: group, empty: true})
	}
	return items
}

// formatAddress renders one address: "Name <addr>", "addr" or "Name".
func formatAddress(item, hint string) string {
	name, addr := splitAddress(item)
	name = clean(decodeText(unquoteName(name), hint))
	addr = dropSpace(toUTF8([]byte(addr), hint))
	switch {
	case name == "" || strings.EqualFold(name, addr):
		return addr
	case addr == "":
		return name
	case strings.ContainsAny(name, `,;<>"`):
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(name) + `" <` + addr + ">"
	}
	return name + " <" + addr + ">"
}

// splitAddress separates the display name and the address of one mailbox:
// "Name <addr>", "addr (Name)", "addr", or a bare name.
func splitAddress(item string) (name, addr string) {
	lt, gt := -1, -1
	var quoted bool
	depth := 0
	for i := 0; i < len(item); i++ {
		switch c := item[i]; {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == '<':
			lt, gt = i, -1
		case c == '>' && lt >= 0 && gt < 0:
			gt = i
		}
	}
	if lt >= 0 {
		end := len(item)
		if gt > lt {
			end = gt
		}
		addr = stripComments(item[lt+1 : end])
		if i := strings.LastIndexByte(addr, ':'); i >= 0 { // obsolete route
			addr = addr[i+1:]
		}
		return strings.TrimSpace(item[:lt]), strings.TrimSpace(addr)
	}
	addr = strings.TrimSpace(stripComments(item))
	if c := firstComment(item); c != "" {
		name = c
	}
	if !strings.Contains(addr, "@") && strings.ContainsAny(addr, " \t\"") {
		return addr, "" // a name with no address, such as "Undisclosed Recipients"
	}
	return name, addr
}

// stripComments removes (comments) outside quoted strings.
func stripComments(s string) string {
	if !strings.Contains(s, "(") {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case depth > 0:
			switch c {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
			}
			continue
		case quoted && c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			c = s[i]
		case c == '"':
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// firstComment returns the text of the first top-level (comment).
func firstComment(s string) string {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return ""
	}
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return s[i+1 : j]
			}
		}
	}
	return s[i+1:]
}

// unquoteName removes the quotes and backslash escapes of quoted strings in
// a display name, keeping the text around them.
func unquoteName(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
			continue
		case c == '\\' && quoted && i+1 < len(s):
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

// dropSpace removes white space and control characters and replaces invalid
// UTF-8.
func dropSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}
