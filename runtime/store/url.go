package store

import (
	"net/url"
	"regexp"
	"strings"
)

// Environment variables read by the CLI and the daemons.
const (
	// EnvDatabaseURL names the metadata database: sqlite:///path,
	// sqlite://:memory: or postgres://user:pass@host:5432/db.
	EnvDatabaseURL = "STARFLOW_DATABASE_URL"
	// DefaultDatabaseURL is starflow.db in the working directory.
	DefaultDatabaseURL = "sqlite://starflow.db"
)

var passwordInURL = regexp.MustCompile(`(://[^:/@\s]*:)[^@\s]*@`)

// RedactURL returns a database URL fit for logs and error messages: the
// password is replaced by xxxxx. Text that does not parse as a URL is
// redacted with a pattern instead.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return passwordInURL.ReplaceAllString(raw, "${1}xxxxx@")
	}
	out := u.Redacted()
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u2 := *u
		u2.RawQuery = q.Encode()
		out = u2.Redacted()
	}
	return out
}

// URLScheme returns the scheme of a database URL in lower case
// ("sqlite", "postgres"), or "" when it has none.
func URLScheme(raw string) string {
	i := strings.Index(raw, "://")
	if i <= 0 {
		return ""
	}
	return strings.ToLower(raw[:i])
}
