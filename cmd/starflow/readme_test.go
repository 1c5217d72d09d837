package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExampleIsAFile checks that the README's first example is a
// file of examples/, word for word: the file is linted and run by the
// examples script, so the README's example works.
func TestREADMEExampleIsAFile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```python\n")
	if !ok {
		t.Fatal("README.md has no ```python example")
	}
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("README.md's first example does not end")
	}
	first, body, _ := strings.Cut(block, "\n")
	name, ok := strings.CutPrefix(first, "# ")
	if !ok || !strings.HasPrefix(name, "examples/") {
		t.Fatalf("the example's first line is %q, want # examples/FILE.star", first)
	}
	file, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	if body != string(file) {
		t.Errorf("README.md's first example differs from %s", name)
	}
}
