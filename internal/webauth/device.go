package webauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"time"
)

// DeviceLife is how long a device cookie proves an earlier login.
const DeviceLife = 90 * 24 * time.Hour

// deviceKeySize is the size of the key that signs device cookies.
const deviceKeySize = 32

// DeviceKeyName is the catalog secret that signs device cookies.
const DeviceKeyName = "device-key"

// devices makes and checks the device cookies of one interface
// (docs/design.md, "Login throttling"): proof that a browser logged in as
// an account before, so that guesses at the account from elsewhere do not
// keep that browser out.
type devices struct {
	key   []byte
	realm string
}

func (d devices) mac(account string, nonce, issued []byte) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(d.realm))
	m.Write([]byte{0})
	m.Write([]byte(strings.ToLower(account)))
	m.Write([]byte{0})
	m.Write(nonce)
	m.Write(issued)
	return m.Sum(nil)
}

// token is a new device cookie value for account.
func (d devices) token(account string, now time.Time) string {
	b := make([]byte, 16+8, 16+8+sha256.Size)
	_, _ = rand.Read(b[:16]) // crypto/rand.Read never fails (Go 1.24+)
	binary.BigEndian.PutUint64(b[16:], uint64(now.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, d.mac(account, b[:16], b[16:24])...))
}

// valid tells whether tok is a device cookie of account, issued less than
// DeviceLife ago.
func (d devices) valid(tok, account string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 16+8+sha256.Size {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[16:24])), 0)
	if issued.After(now.Add(time.Minute)) || now.Sub(issued) > DeviceLife {
		return false
	}
	return hmac.Equal(b[24:], d.mac(account, b[:16], b[16:24]))
}

// known tells whether the request's browser holds a device cookie of
// account.
func (g *Gate) known(r *http.Request, account string) bool {
	c, err := r.Cookie(g.o.DeviceCookie)
	return err == nil && g.devices.valid(c.Value, account, g.o.Clock.Now())
}

// remember gives the browser a device cookie of account.
func (g *Gate) remember(w http.ResponseWriter, r *http.Request, account string) {
	http.SetCookie(w, &http.Cookie{Name: g.o.DeviceCookie, Value: g.devices.token(account, g.o.Clock.Now()), Path: "/",
		MaxAge: int(DeviceLife / time.Second), HttpOnly: true, Secure: g.o.Guard.Secure(r), SameSite: http.SameSiteLaxMode})
}
