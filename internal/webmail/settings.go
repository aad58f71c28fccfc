package webmail

import (
	"net/http"

	"mtm/internal/catalog"
	"mtm/internal/i18n"
	"mtm/internal/web"
)

// settingsJSON is GET and PUT /api/v1/settings (docs/api.md): what the
// user chose for their own account.
type settingsJSON struct {
	MassDeletionWarning *bool   `json:"mass_deletion_warning"`
	Language            *string `json:"language"` // "en", "it"; "" not chosen
}

func toSettingsJSON(set catalog.AccountSettings) settingsJSON {
	return settingsJSON{MassDeletionWarning: &set.MassDeletionWarning, Language: &set.Language}
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
	web.WriteJSON(w, http.StatusOK, toSettingsJSON(set))
}

// setSettings changes the settings the body names and answers them all.
func (s *Server) setSettings(w http.ResponseWriter, r *http.Request, u who) {
	var in settingsJSON
	if !web.ReadJSON(w, r, &in, 4<<10) {
		return
	}
	if in.Language != nil && *in.Language != "" && !i18n.Supported(*in.Language) {
		s.apiError(w, r, http.StatusBadRequest, "api.unknown_language")
		return
	}
	if u.acct == 0 {
		s.apiError(w, r, http.StatusNotFound, "api.no_backup")
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
	if in.Language != nil {
		set.Language = *in.Language
	}
	if err := s.opts.Catalog.SetAccountSettings(r.Context(), u.acct, set); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("webmail: settings changed", "account", u.address, "mass_deletion_warning", set.MassDeletionWarning,
		"language", set.Language)
	web.WriteJSON(w, http.StatusOK, toSettingsJSON(set))
}
