package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the hand-maintained OpenAPI 3 document of every route; a
// test checks it against the routes table both ways.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI document.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// openAPI serves GET /openapi.json.
func (h *handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
}
