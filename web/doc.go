// Package web is Starflow's webserver: it mounts the REST API (web/api),
// the UI pages (web/ui), login and logout (web/auth), /health and
// /metrics on one handler, and serves it with graceful shutdown.
//
// Only /health, /login and the static assets answer without a session or
// bearer token; /metrics, too, needs a token or a session unless
// Options.PublicMetrics is set.
package web
