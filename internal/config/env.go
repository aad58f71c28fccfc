package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "MTM_"

// field is one key of the file, with its environment variable and the
// Config field it sets.
type field struct {
	key string // "imap.tls"
	env string // "MTM_IMAP_TLS"
	v   reflect.Value
}

// fields lists every key of c in declaration order: the top-level keys and
// the keys of each section. Fields tagged toml:"-" and unexported fields are
// not keys.
func (c *Config) fields() []field {
	var out []field
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
			if !sf.IsExported() || name == "" || name == "-" {
				continue
			}
			if sf.Type.Kind() == reflect.Struct {
				walk(v.Field(i), prefix+name+".")
				continue
			}
			key := prefix + name
			out = append(out, field{
				key: key,
				env: EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_")),
				v:   v.Field(i),
			})
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// knownKeys returns every key and section name a file may contain.
func knownKeys() map[string]bool {
	known := map[string]bool{}
	for _, f := range Default().fields() {
		known[f.key] = true
		if section, _, ok := strings.Cut(f.key, "."); ok {
			known[section] = true
		}
	}
	return known
}

// applyEnv sets the keys named by the MTM_* variables of env. Later entries
// win over earlier ones, as in a shell.
func (c *Config) applyEnv(env []string) error {
	byEnv := map[string]field{}
	for _, f := range c.fields() {
		byEnv[f.env] = f
	}
	var errs []error
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		f, ok := byEnv[name]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown environment variable %s", name))
			continue
		}
		if err := setValue(f.v, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if c.fromEnv == nil {
			c.fromEnv = map[string]string{}
		}
		c.fromEnv[f.key] = name
	}
	return errors.Join(errs...)
}

// FromEnv tells whether key ("imap.master_password") was set from the
// environment rather than the file.
func (c *Config) FromEnv(key string) bool {
	_, ok := c.fromEnv[key]
	return ok
}

var durationType = reflect.TypeFor[time.Duration]()

// setValue parses s into v according to v's type.
func setValue(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (such as 90s or 5m)", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		// A list is comma separated; the empty string is the empty list.
		var list []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		v.Set(reflect.ValueOf(list))
	case v.Kind() == reflect.Int:
		n, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	default:
		// A new key of another type needs a case here; the tests catch it.
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
