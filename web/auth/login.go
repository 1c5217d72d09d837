package auth

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// dummyHash is compared against when a login names an unknown user, so
// that the answer takes as long as for a wrong password.
const dummyHash = "$2a$10$2kMnBTIfWwVl49zyOotjKOMvRk.aaQVVOylyZxlPAfEJ.a4XwtFQ6"

// Login serves /login: GET shows the login page, POST checks the username
// and password, sets the session cookie and redirects (303) to the form's
// next field when it is a local path, else to "/". A failed login shows
// the page again with status 401; a post without the login form's CSRF
// token gets it with status 403; a login while the user or address is
// throttled (see Throttle) gets it with status 429 and Retry-After,
// without the password being checked.
func (a *Authenticator) Login() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			if _, _, err := a.sessionUser(r); err == nil {
				http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
				return
			} else if !errors.Is(err, errBadCookie) {
				a.log.Error("authenticate session", "err", err)
			}
			a.showLogin(w, r, http.StatusOK, "")
		case http.MethodPost:
			a.postLogin(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// showLogin renders the login page with a fresh login nonce.
func (a *Authenticator) showLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	nonce, err := randomString(18)
	if err != nil {
		http.Error(w, "cannot start a login", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, a.cookie(r, LoginCookie, a.sign("login", []byte(nonce)), 3600))
	w.Header().Set("Cache-Control", "no-store")
	a.loginPage(&statusWriter{ResponseWriter: w, code: code}, withCSRF(r, a.csrfFor("login:"+nonce)), msg)
}

func (a *Authenticator) postLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		a.showLogin(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	c, err := r.Cookie(LoginCookie)
	var nonce []byte
	ok := err == nil
	if ok {
		nonce, ok = a.verify("login", c.Value)
	}
	if !ok || !checkCSRF(r, a.csrfFor("login:"+string(nonce))) {
		a.showLogin(w, r, http.StatusForbidden, "Your login form expired; please try again.")
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	wait, err := a.loginWait(r.Context(), username, r)
	if err != nil {
		a.log.Error("login throttle", "user", username, "err", err)
		a.showLogin(w, r, http.StatusInternalServerError, "Cannot check credentials now; please try again.")
		return
	}
	if wait > 0 {
		a.log.Warn("login throttled", "user", username, "remote", r.RemoteAddr, "wait", wait)
		a.tooMany(w, r, wait)
		return
	}
	u, err := a.backend.UserGet(r.Context(), username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.log.Error("login", "user", username, "err", err)
		a.showLogin(w, r, http.StatusInternalServerError, "Cannot check credentials now; please try again.")
		return
	}
	if u != nil && !u.Active {
		// A deactivated user is refused as an unknown one is, after the
		// same bcrypt work (Flask-AppBuilder's auth_user_db does so too).
		u = nil
	}
	if u == nil {
		CheckPassword(dummyHash, password)
	}
	if u == nil || !CheckPassword(u.PasswordHash, password) {
		a.log.Warn("login failed", "user", username, "remote", r.RemoteAddr)
		if err := a.loginFailed(r.Context(), username, r); err != nil {
			a.log.Error("login throttle", "user", username, "err", err)
		}
		a.showLogin(w, r, http.StatusUnauthorized, "Invalid username or password.")
		return
	}
	if err := a.loginSucceeded(r.Context(), username); err != nil {
		a.log.Error("login throttle", "user", username, "err", err)
	}
	v, _, err := a.newSession(u)
	if err != nil {
		http.Error(w, "cannot start a session", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, a.cookie(r, SessionCookie, v, int(a.ttl.Seconds())))
	http.SetCookie(w, a.cookie(r, LoginCookie, "", -1))
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// Logout serves /logout: a POST with the session's CSRF token revokes the
// session in the store, so that a copy of its cookie is refused from then
// on, clears the session cookie and redirects (303) to /login. When the
// store cannot record the revocation it answers 500 and keeps the cookie,
// so that the user knows the session is still alive and can try again.
func (a *Authenticator) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if s, ok := a.readSession(r); ok {
			if !checkCSRF(r, a.csrfFor(s.ID)) {
				http.Error(w, "missing or invalid CSRF token", http.StatusForbidden)
				return
			}
			if err := a.revoke(r.Context(), s); err != nil {
				a.log.Error("logout", "user", s.Username, "err", err)
				http.Error(w, "cannot end the session now; please try again", http.StatusInternalServerError)
				return
			}
		}
		http.SetCookie(w, a.cookie(r, SessionCookie, "", -1))
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	})
}

// localPath returns next when it is a path on this server, else "/".
//
// Browsers drop tabs and newlines from URLs and read a backslash as a
// slash, so "/\t/evil.example" or "/\\evil.example" would leave the site
// as surely as "//evil.example": next must start with exactly one '/', hold
// no control character, space or backslash, and parse as a path with no
// scheme or host.
func localPath(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2048 {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	if strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/%2F") || strings.HasPrefix(next, "/%2f") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

// statusWriter forces the status code of the response it wraps.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(int) {
	if !s.wrote {
		s.wrote = true
		s.ResponseWriter.WriteHeader(s.code)
	}
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.WriteHeader(s.code)
	return s.ResponseWriter.Write(b)
}

var defaultLogin = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Starflow — log in</title></head>
<body><h1>Starflow</h1>{{if .Err}}<p role="alert">{{.Err}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{{.CSRF}}"><input type="hidden" name="next" value="{{.Next}}">
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form></body></html>
`))

// defaultLoginPage is the built-in login form used when Options.LoginPage
// is nil.
func defaultLoginPage(w http.ResponseWriter, r *http.Request, errMsg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	_ = defaultLogin.Execute(w, struct{ Err, CSRF, Next string }{errMsg, CSRFToken(r), next})
}
