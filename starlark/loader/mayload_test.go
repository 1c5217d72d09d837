package loader

import "testing"

// TestMayLoad checks that the pre-check staticDeps uses before parsing
// finds every spelling of a load statement and lets other text through.
func TestMayLoad(t *testing.T) {
	for src, want := range map[string]bool{
		`load("lib.star", "x")`:             true,
		"x = 1\nload (\"lib.star\", \"x\")": true,
		"load \\\n(\"lib.star\", \"x\")":    true,
		"load\t(\"lib.star\", \"x\")":       true,
		"def loads():\n    pass\n":          false,
		"g = group(\"loads\", loads)\n":     false,
		"preload(1)\n":                      false,
	} {
		if got := mayLoad.MatchString(src); got != want {
			t.Errorf("mayLoad(%q) = %v, want %v", src, got, want)
		}
	}
}
