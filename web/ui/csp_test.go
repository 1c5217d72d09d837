package ui_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTemplatesHaveNoInlineScript: the Content-Security-Policy (script-src
// 'self') blocks inline handlers and scripts, so no template may use them;
// the only inline <script> allowed is a JSON data block.
func TestTemplatesHaveNoInlineScript(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	script := regexp.MustCompile(`(?i)<script\b[^>]*>`)
	allowed := regexp.MustCompile(`(?i)\bsrc=|type="application/json"`)
	jsURL := regexp.MustCompile(`(?i)href\s*=\s*"javascript:`)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if m := handler.Find(b); m != nil {
			t.Errorf("%s: inline event handler %q (use a listener in static/app.js)", name, m)
		}
		if m := jsURL.Find(b); m != nil {
			t.Errorf("%s: javascript: URL %q", name, m)
		}
		for _, tag := range script.FindAll(b, -1) {
			if !allowed.Match(tag) {
				t.Errorf("%s: inline script %q (move it to static/)", name, tag)
			}
		}
	}
}
