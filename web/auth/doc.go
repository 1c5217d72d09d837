// Package auth authenticates webserver requests and decides what a user may
// do.
//
// Users and API tokens live in the metadata store. A browser holds a
// session in an HMAC-signed cookie (HttpOnly, SameSite=Lax, Secure over
// TLS); every state-changing request made with a session cookie must carry
// the session's CSRF token in the X-CSRF-Token header or a csrf_token form
// field. API clients send "Authorization: Bearer <token>" instead and need
// no CSRF token. Roles map to permissions with Can.
package auth
