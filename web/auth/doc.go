// Package auth authenticates webserver requests and decides what a user may
// do.
//
// Users and API tokens live in the metadata store. A browser holds a
// session in an HMAC-signed cookie (HttpOnly, SameSite=Lax, Secure over
// TLS); every state-changing request made with a session cookie must carry
// the session's CSRF token in the X-CSRF-Token header or a csrf_token form
// field. API clients send "Authorization: Bearer <token>" instead and need
// no CSRF token. Roles map to permissions with Can.
//
// A session ends when it expires, when its user's password changes, or at
// logout: Logout records the session's id as revoked in the store, so that
// a copy of the cookie is refused too. Every webserver process caches a
// "not revoked" answer for Options.CacheTTL (2 s), so a logout through one
// process is seen by the others within that time and by its own at once.
package auth
