package mailsum

import (
	"net/mail"
	"strings"
)

// addressParser parses address lists (RFC 5322 §3.4), decoding encoded
// words in display names with wordDecoder.
var addressParser = mail.AddressParser{WordDecoder: wordDecoder}

// formatAddressLists renders several fields (every To, or every Cc) as one
// list.
func formatAddressLists(vs []string, hint string) string {
	var out []string
	for _, v := range vs {
		if s := formatAddressList(v, hint); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// formatAddressList renders an address-list value as "Name <addr>, addr2";
// group labels are dropped and their members listed. net/mail is strict:
// when it rejects the value (in old spam: bare names, unquoted specials,
// obsolete routes) or finds no mailbox in it (an empty group such as
// "undisclosed-recipients:;"), the decoded text itself is returned.
func formatAddressList(v, hint string) string {
	v = raw8bit(v, hint)
	list, err := addressParser.ParseList(v)
	if err != nil || len(list) == 0 {
		return decodeText(v, hint)
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, formatAddress(a))
	}
	return strings.Join(out, ", ")
}

// formatAddress renders "Name <addr>", or "addr" when the name is empty or
// equal to the address. A name that contains one of `,;<>"` is quoted so the
// list stays unambiguous.
func formatAddress(a *mail.Address) string {
	addr := (&mail.Address{Address: a.Address}).String() // quotes the local part if needed
	addr = clean(strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">"))
	name := clean(guessUTF8(a.Name))
	switch {
	case name == "" || strings.EqualFold(name, addr):
		return addr
	case strings.ContainsAny(name, `,;<>"`):
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(name) + `" <` + addr + ">"
	}
	return name + " <" + addr + ">"
}
