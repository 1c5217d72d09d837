package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Cookie names.
const (
	// SessionCookie holds a signed session.
	SessionCookie = "starflow_session"
	// LoginCookie holds the signed pre-session nonce that protects the
	// login form against cross-site posts.
	LoginCookie = "starflow_login"
	// CSRFHeader is the request header that carries the CSRF token (htmx
	// and fetch requests).
	CSRFHeader = "X-CSRF-Token"
	// CSRFField is the form field that carries the CSRF token.
	CSRFField = "csrf_token"
)

// session is the signed content of a session cookie.
type session struct {
	Username string `json:"u"`
	// ID is random per login; the CSRF token derives from it.
	ID string `json:"i"`
	// Expires is a Unix time.
	Expires int64 `json:"e"`
	// Pass fingerprints the password hash, the role and the last
	// deactivation at login, so that changing any ends the user's
	// sessions.
	Pass string `json:"p"`
}

var errBadCookie = errors.New("invalid or expired session")

// sign returns payload.signature, both base64url.
func (a *Authenticator) sign(purpose string, payload []byte) string {
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(a.mac(purpose, p))
}

// verify checks a signed value and returns its payload.
func (a *Authenticator) verify(purpose, v string) ([]byte, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.mac(purpose, p)) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	return b, err == nil
}

func (a *Authenticator) mac(purpose, msg string) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// csrfFor derives the CSRF token of a session or login nonce.
func (a *Authenticator) csrfFor(id string) string {
	return base64.RawURLEncoding.EncodeToString(a.mac("csrf", id))
}

// passPrint fingerprints what a session depends on: the user's password
// hash, role and last deactivation (only when there was one, so that the
// sessions of users never deactivated keep their fingerprint).
func passPrint(u *store.User) string {
	b := u.PasswordHash + "\x00" + u.Role
	if !u.DeactivatedAt.IsZero() {
		b += "\x00" + strconv.FormatInt(u.DeactivatedAt.UnixMicro(), 10)
	}
	s := sha256.Sum256([]byte(b))
	return base64.RawURLEncoding.EncodeToString(s[:9])
}

// newSession returns a signed session cookie value for u.
func (a *Authenticator) newSession(u *store.User) (value string, s session, err error) {
	id, err := randomString(18)
	if err != nil {
		return "", s, err
	}
	s = session{Username: u.Username, ID: id, Expires: a.now().Add(a.ttl).Unix(), Pass: passPrint(u)}
	b, err := json.Marshal(s)
	if err != nil {
		return "", s, err
	}
	return a.sign("session", b), s, nil
}

// readSession returns the session of r when its cookie is signed by this
// key and not expired. It does not look at the store: sessionUser also
// checks that the session was not revoked and its user's password did not
// change.
func (a *Authenticator) readSession(r *http.Request) (*session, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, false
	}
	b, ok := a.verify("session", c.Value)
	if !ok {
		return nil, false
	}
	var s session
	if json.Unmarshal(b, &s) != nil || s.Username == "" || s.ID == "" || a.now().Unix() >= s.Expires {
		return nil, false
	}
	return &s, true
}

// sessionUser authenticates r's session cookie: signed, not expired, not
// revoked by a logout, and made with the user's current password and
// role. It
// returns errBadCookie for a session that is not valid and another error
// when the store cannot tell.
func (a *Authenticator) sessionUser(r *http.Request) (*User, *session, error) {
	s, ok := a.readSession(r)
	if !ok {
		return nil, nil, errBadCookie
	}
	if err := a.checkRevoked(r.Context(), s); err != nil {
		return nil, nil, err
	}
	u, err := a.lookupUser(r.Context(), s.Username)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, errBadCookie
		}
		return nil, nil, err
	}
	if !hmac.Equal([]byte(passPrint(u)), []byte(s.Pass)) {
		return nil, nil, errBadCookie
	}
	return toUser(u), s, nil
}

func (a *Authenticator) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   a.secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	}
}

// SessionFor signs in username without a password and returns the session
// cookie and its CSRF token; for tests and tools that drive the webserver.
func (a *Authenticator) SessionFor(ctx context.Context, username string) (*http.Cookie, string, error) {
	u, err := a.backend.UserGet(ctx, username)
	if err != nil {
		return nil, "", err
	}
	v, s, err := a.newSession(u)
	if err != nil {
		return nil, "", err
	}
	c := &http.Cookie{Name: SessionCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Expires: time.Unix(s.Expires, 0)}
	return c, a.csrfFor(s.ID), nil
}

type csrfKey struct{}

func withCSRF(r *http.Request, token string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), csrfKey{}, token))
}

// CSRFToken returns the CSRF token of r's session (or, on the login page,
// of its login form), to embed in forms as the csrf_token field or to send
// in the X-CSRF-Token header. It is empty for a request the middleware did
// not authenticate by cookie.
func CSRFToken(r *http.Request) string {
	t, _ := r.Context().Value(csrfKey{}).(string)
	return t
}

// WithCSRFToken returns r carrying token as its CSRF token, for tests of
// handlers that render forms without the middleware.
func WithCSRFToken(r *http.Request, token string) *http.Request {
	return withCSRF(r, token)
}

// safeMethod reports whether m cannot change state.
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// checkCSRF reports whether r carries want in the header or form field.
func checkCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			got = r.PostFormValue(CSRFField)
		}
	}
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}
