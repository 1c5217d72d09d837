// Package api serves Starflow's REST API under /api/v1: DAGs, runs, task
// instances and their logs and XComs, variables, connections, pools and
// workers, as JSON, documented by the OpenAPI document at
// /api/v1/openapi.json.
//
// Errors are JSON objects {"error": "...", "status": N}: 400 for bad
// input, 401 without credentials, 403 when the user's role lacks the
// permission, 404 for unknown objects, 409 for conflicts. The handler
// expects web/auth's RequireAuth in front of it and checks each route's
// permission with auth.Can. Secrets never leave the server: secret
// variables read "***" and connection passwords are never returned.
package api
