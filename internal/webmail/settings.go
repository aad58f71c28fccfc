package webmail

import (
	"net/http"

	"mtm/internal/catalog"
	"mtm/internal/web"
)

// settingsJSON is GET and PUT /api/v1/settings (docs/api.md): what the
// user chose for their own account.
type settingsJSON struct {
	MassDeletionWarning *bool `json:"mass_deletion_warning"`
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request, u who) {
	set := catalog.DefaultAccountSettings
	if u.acct != 0 {
		var err error
		if set, err = s.opts.Catalog.AccountSettings(r.Context(), u.acct); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	web.WriteJSON(w, http.StatusOK, settingsJSON{MassDeletionWarning: &set.MassDeletionWarning})
}

// setSettings changes the settings the body names and answers them all.
func (s *Server) setSettings(w http.ResponseWriter, r *http.Request, u who) {
	var in settingsJSON
	if !web.ReadJSON(w, r, &in, 4<<10) {
		return
	}
	if u.acct == 0 {
		web.WriteError(w, http.StatusNotFound, "this mailbox has no backup yet")
		return
	}
	set, err := s.opts.Catalog.AccountSettings(r.Context(), u.acct)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.MassDeletionWarning != nil {
		set.MassDeletionWarning = *in.MassDeletionWarning
	}
	if err := s.opts.Catalog.SetAccountSettings(r.Context(), u.acct, set); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("webmail: settings changed", "account", u.address, "mass_deletion_warning", set.MassDeletionWarning)
	web.WriteJSON(w, http.StatusOK, settingsJSON{MassDeletionWarning: &set.MassDeletionWarning})
}
