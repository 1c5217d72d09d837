package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// WriteError writes the API's JSON error body {"error": msg, "status": code}.
func WriteError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{msg, code})
}

// RequireAuth guards the REST API: a request must carry
// "Authorization: Bearer <token>" or a session cookie, otherwise it gets a
// 401 JSON error. A state-changing request authenticated by cookie must
// also carry the session's CSRF token (403 otherwise); bearer requests need
// none. The user is in the request context (UserFrom).
func (a *Authenticator) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="starflow"`)
				WriteError(w, http.StatusUnauthorized, "unsupported Authorization header: use Bearer <token>")
				return
			}
			su, err := a.lookupToken(r.Context(), strings.TrimSpace(token))
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="starflow", error="invalid_token"`)
					WriteError(w, http.StatusUnauthorized, "invalid or revoked API token")
					return
				}
				a.log.Error("authenticate token", "err", err)
				WriteError(w, http.StatusInternalServerError, "cannot check credentials")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), toUser(su))))
			return
		}
		u, s, err := a.sessionUser(r)
		if err != nil {
			if !errors.Is(err, errBadCookie) {
				a.log.Error("authenticate session", "err", err)
				WriteError(w, http.StatusInternalServerError, "cannot check credentials")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="starflow"`)
			WriteError(w, http.StatusUnauthorized, "authentication required: log in or send Authorization: Bearer <token>")
			return
		}
		token := a.csrfFor(s.ID)
		if !safeMethod(r.Method) && !checkCSRF(r, token) {
			WriteError(w, http.StatusForbidden, "missing or invalid CSRF token (send the X-CSRF-Token header)")
			return
		}
		r = withCSRF(r, token)
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}

// RequireSession guards the UI pages: without a valid session a GET is
// redirected to /login?next=<path> (an htmx request gets 401 with an
// HX-Redirect header instead), and any other method gets 401. A
// state-changing request must carry the CSRF token (403 otherwise).
func (a *Authenticator) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, s, err := a.sessionUser(r)
		if err != nil {
			if !errors.Is(err, errBadCookie) {
				a.log.Error("authenticate session", "err", err)
				http.Error(w, "cannot check credentials", http.StatusInternalServerError)
				return
			}
			login := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			switch {
			case r.Header.Get("HX-Request") == "true":
				w.Header().Set("HX-Redirect", login)
				http.Error(w, "login required", http.StatusUnauthorized)
			case r.Method == http.MethodGet || r.Method == http.MethodHead:
				http.Redirect(w, r, login, http.StatusSeeOther)
			default:
				http.Error(w, "login required", http.StatusUnauthorized)
			}
			return
		}
		token := a.csrfFor(s.ID)
		if !safeMethod(r.Method) && !checkCSRF(r, token) {
			http.Error(w, "missing or invalid CSRF token", http.StatusForbidden)
			return
		}
		r = withCSRF(r, token)
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
	})
}
