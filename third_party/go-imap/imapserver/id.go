package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionID is an IMAP session which supports ID (RFC 2971). The server
// must advertise the ID capability.
type SessionID interface {
	Session

	// ID is given the client's identification (nil for NIL) and returns
	// the server's (nil for NIL).
	ID(client *imap.IDData) *imap.IDData
}

func (c *Conn) handleID(dec *imapwire.Decoder) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var client *imap.IDData
	data := imap.IDData{}
	isList, err := dec.List(func() error {
		var key, value string
		if !dec.ExpectString(&key) || !dec.ExpectSP() || !dec.ExpectNString(&value) {
			return dec.Err()
		}
		setIDField(&data, strings.ToLower(key), value)
		return nil
	})
	if err != nil {
		return err
	}
	if isList {
		client = &data
	} else if !dec.ExpectNIL() {
		return dec.Err()
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	session, ok := c.session.(SessionID)
	if !ok {
		return newClientBugError("ID is not supported")
	}
	server := session.ID(client)

	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ID").SP()
	if server == nil {
		enc.NIL()
		return enc.CRLF()
	}
	var pairs [][2]string
	for _, f := range []struct{ k, v string }{
		{"name", server.Name}, {"version", server.Version}, {"os", server.OS}, {"os-version", server.OSVersion},
		{"vendor", server.Vendor}, {"support-url", server.SupportURL}, {"address", server.Address}, {"date", server.Date},
		{"command", server.Command}, {"arguments", server.Arguments}, {"environment", server.Environment},
	} {
		if f.v != "" {
			pairs = append(pairs, [2]string{f.k, f.v})
		}
	}
	if len(pairs) == 0 {
		enc.NIL()
		return enc.CRLF()
	}
	enc.List(len(pairs), func(i int) {
		enc.String(pairs[i][0]).SP().String(pairs[i][1])
	})
	return enc.CRLF()
}

func setIDField(data *imap.IDData, key, value string) {
	switch key {
	case "name":
		data.Name = value
	case "version":
		data.Version = value
	case "os":
		data.OS = value
	case "os-version":
		data.OSVersion = value
	case "vendor":
		data.Vendor = value
	case "support-url":
		data.SupportURL = value
	case "address":
		data.Address = value
	case "date":
		data.Date = value
	case "command":
		data.Command = value
	case "arguments":
		data.Arguments = value
	case "environment":
		data.Environment = value
	}
}
