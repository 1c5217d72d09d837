package lint

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// docsPath is the rule reference every rule must have an entry in.
const docsPath = "../../docs/lint.md"

// ruleDoc is one "### `rule-id`" section of docs/lint.md.
type ruleDoc struct {
	severity  string
	bad, good string // the python code blocks after "Bad:" and "Good:"
}

var (
	headingRE  = regexp.MustCompile("(?m)^### `([a-z0-9-]+)`\\s*$")
	severityRE = regexp.MustCompile(`(?m)^Severity: (\S+)\s*$`)
	exampleRE  = regexp.MustCompile("(?s)\n(Bad|Good):\n\n```python\n(.*?)```\n")
)

// readRuleDocs parses the rule sections of docs/lint.md.
func readRuleDocs(t *testing.T) map[string]ruleDoc {
	t.Helper()
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatalf("read the rule reference: %v", err)
	}
	text := string(data)
	docs := map[string]ruleDoc{}
	heads := headingRE.FindAllStringSubmatchIndex(text, -1)
	for i, h := range heads {
		id := text[h[2]:h[3]]
		end := len(text)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		body := text[h[1]:end]
		var d ruleDoc
		if m := severityRE.FindStringSubmatch(body); m != nil {
			d.severity = m[1]
		}
		for _, m := range exampleRE.FindAllStringSubmatch(body, -1) {
			if m[1] == "Bad" {
				d.bad = m[2]
			} else {
				d.good = m[2]
			}
		}
		if _, dup := docs[id]; dup {
			t.Errorf("%s: rule %q is documented twice", docsPath, id)
		}
		docs[id] = d
	}
	return docs
}

// TestEveryRuleIsDocumented fails when a rule lacks an entry in
// docs/lint.md with its severity and a bad and a good example, or when the
// reference documents a rule the linter does not know.
func TestEveryRuleIsDocumented(t *testing.T) {
	t.Parallel()
	docs := readRuleDocs(t)
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.ID] = true
		d, ok := docs[r.ID]
		if !ok {
			t.Errorf("rule %q has no \"### `%s`\" entry in %s", r.ID, r.ID, docsPath)
			continue
		}
		if d.severity != string(r.Severity) {
			t.Errorf("%s: rule %q says \"Severity: %s\", want %q", docsPath, r.ID, d.severity, r.Severity)
		}
		if strings.TrimSpace(d.bad) == "" || strings.TrimSpace(d.good) == "" {
			t.Errorf("%s: rule %q needs a \"Bad:\" and a \"Good:\" python example", docsPath, r.ID)
		}
		if d.bad == d.good {
			t.Errorf("%s: rule %q has the same bad and good example", docsPath, r.ID)
		}
	}
	for id := range docs {
		if !known[id] {
			t.Errorf("%s documents rule %q, which Rules() does not list", docsPath, id)
		}
	}
}

// TestDocExamplesParse checks every example is Starlark the loader would
// parse, except the bad example of syntax-error.
func TestDocExamplesParse(t *testing.T) {
	t.Parallel()
	for id, d := range readRuleDocs(t) {
		if _, err := dialect().Parse(id+"-good.star", d.good, 0); err != nil {
			t.Errorf("rule %q: good example: %v", id, err)
		}
		_, err := dialect().Parse(id+"-bad.star", d.bad, 0)
		if wantErr := id == "syntax-error"; (err != nil) != wantErr {
			t.Errorf("rule %q: bad example: parse error %v, want one: %v", id, err, wantErr)
		}
	}
}

// TestUnusedLoadDocExamples runs the source-level rule on its own examples.
func TestUnusedLoadDocExamples(t *testing.T) {
	t.Parallel()
	d := readRuleDocs(t)[RuleUnusedLoad]
	if got := lines(check(t, d.bad), RuleUnusedLoad); len(got) != 1 {
		t.Errorf("bad example: want one finding, got %v", got)
	}
	if got := check(t, d.good); len(got) != 0 {
		t.Errorf("good example: want no findings, got %q", strs(got))
	}
}
