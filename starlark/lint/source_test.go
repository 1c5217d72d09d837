package lint

import (
	"fmt"
	"slices"
	"testing"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

func TestComments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // "line:text", with " (alone)" for a whole-line comment
	}{
		{"a comment after code", "x = 1  # one\n", []string{"1:# one"}},
		{"a whole-line comment", "x = 1\n# two\ny = 2\n", []string{"2:# two (alone)"}},
		{"an indented comment", "def f():\n  \t# two\n  pass\n", []string{"2:# two (alone)"}},
		{"no final newline", "x = 1 # end", []string{"1:# end"}},
		{"CRLF line ends", "x = 1 # one\r\ny = 2 # two\r\n", []string{"1:# one", "2:# two"}},
		{"a hash in a string", `x = "# not" # yes` + "\n", []string{"1:# yes"}},
		{"a hash in single quotes", `x = '#not' + "#not"` + "\n", nil},
		{"an escaped quote", `x = "a\"# not" # yes` + "\n", []string{"1:# yes"}},
		{"a raw string with an escaped quote", `x = r"\"# not" # yes` + "\n", []string{"1:# yes"}},
		{"a triple-quoted string over lines", "x = \"\"\"\n# not\n\"still\"\n\"\"\" # yes\n# also\n", []string{"4:# yes", "5:# also (alone)"}},
		{"a triple-single-quoted string", "x = '''it's # not'''  # yes\n", []string{"1:# yes"}},
		{"an empty string", `x = "" # yes` + "\n", []string{"1:# yes"}},
		{"an unterminated string ends at its line", "x = \"abc\n# yes\n", []string{"2:# yes (alone)"}},
		{"an escaped newline in a string", "x = \"a\\\nb\" # yes\n", []string{"2:# yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, c := range comments([]byte(tt.src)) {
				s := fmt.Sprintf("%d:%s", c.line, c.text)
				if c.alone {
					s += " (alone)"
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("comments(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}

// TestLoaderSyntaxTree gives Check the loader's parsed and resolved tree:
// the result is the same as parsing Source, and Source is not parsed.
func TestLoaderSyntaxTree(t *testing.T) {
	t.Parallel()
	src := `load("//lib/common.star", "helper", "unused")

def build():
    helper()

dag(dag_id = "etl", build = build)
`
	tree, err := dialect().Parse(path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	predeclared := starlark.StringDict{"dag": starlark.None}
	if _, err := starlark.FileProgram(tree, predeclared.Has); err != nil {
		t.Fatal(err)
	}
	want := []string{`1:38 "unused" is loaded from "//lib/common.star" but never used: remove it from the load statement`}
	fromSource := only(check(t, src), RuleUnusedLoad)
	fromTree := only(Check(File{Path: path, Syntax: tree}, Options{Now: now}), RuleUnusedLoad)
	if diff := diffLines(fromSource, want); diff != "" {
		t.Errorf("from the source: %s", diff)
	}
	if diff := diffLines(fromTree, want); diff != "" {
		t.Errorf("from the loader's tree: %s", diff)
	}
	// An unresolved tree is resolved by Check.
	bare, err := dialect().Parse(path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffLines(only(Check(File{Path: path, Syntax: bare}, Options{Now: now}), RuleUnusedLoad), want); diff != "" {
		t.Errorf("from an unresolved tree: %s", diff)
	}
}

// FuzzCheck feeds arbitrary text as a DAG file's source: Check never
// panics, and every finding it reports is a positioned warning in the file.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"load(\"//a.star\", \"x\")\n",
		"load(\"//a.star\", y = \"x\")\ndef f(y):\n    return [y for y in y]\n",
		"x = \"\"\"\n# starflow: disable=unused-load\n\"\"\"\n",
		"# starflow: disable-file=unused-load,\n# starflow: disable=\n",
		"'''",
		"\"\\",
	} {
		f.Add([]byte(seed))
	}
	d := dags.New("etl", at(1, 1))
	d.AddTask(dags.NewTask("a", dags.OperatorBash, at(1, 1)))
	d.AddTask(dags.NewTask("b", dags.OperatorBash, at(2, 1)))
	d.Finalize()
	f.Fuzz(func(t *testing.T, src []byte) {
		for _, fd := range Check(File{Path: path, Source: src, DAGs: []*dags.DAG{d}}, Options{Now: now}) {
			if fd.Severity != SeverityWarning || fd.Pos.File != path || fd.Pos.Line < 1 {
				t.Fatalf("unexpected finding %v", fd)
			}
		}
	})
}

func TestMayLoad(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  string
		want bool
	}{
		{`load("//lib.star", "x")`, true},
		{"x = 1\nload(\"//lib.star\", \"y\")\n", true},
		{"x = 1\n  load(\"//lib.star\", \"y\")\n", true},
		{"x = 1; load(\"//lib.star\", \"y\")\n", true},
		{"x = 1\r\nload (\"//lib.star\", \"y\")\r\n", true},
		{"def loads():\n    pass\ng = group(\"loads\", loads)\n", false},
		{"x = \"upload\"\n", false},
		{"", false},
	}
	for _, c := range cases {
		if got := mayLoad([]byte(c.src)); got != c.want {
			t.Errorf("mayLoad(%q) = %v, want %v", c.src, got, c.want)
		}
	}
	// A file naming a group "loads" still reports an unused load when it
	// has one, and one without loads is not parsed for them.
	src := []byte("load(\"//lib.star\", \"x\")\ndef loads():\n    pass\n")
	if s := scanSource("f.star", src, nil); len(s.unusedLoads) != 1 {
		t.Errorf("unused loads = %v, want x", s.unusedLoads)
	}
}
