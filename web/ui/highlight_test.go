package ui

import (
	"html"
	"html/template"
	"strings"
	"testing"
)

func TestHighlightStarlark(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []template.HTML
	}{
		{"keywords, function names and builtins", "def build():\n    return dag(x)\n",
			[]template.HTML{`<span class="kw">def</span> <span class="fn">build</span>():`, `    <span class="kw">return</span> <span class="bi">dag</span>(x)`}},
		{"strings are escaped", `s = "<b>" + 'it\'s'`,
			[]template.HTML{`s = <span class="str">&#34;&lt;b&gt;&#34;</span> + <span class="str">&#39;it\&#39;s&#39;</span>`}},
		{"a comment runs to the end of its line", "x = 1  # one\ny = 2.5\n",
			[]template.HTML{`x = <span class="num">1</span>  <span class="com"># one</span>`, `y = <span class="num">2.5</span>`}},
		{"a triple-quoted string spans lines, one span per line", "doc = \"\"\"a\n\"b\"\nc\"\"\"\n",
			[]template.HTML{`doc = <span class="str">&#34;&#34;&#34;a</span>`, `<span class="str">&#34;b&#34;</span>`, `<span class="str">c&#34;&#34;&#34;</span>`}},
		{"raw strings and keyword arguments named like builtins", `f(task = r"\d", len = 2)`,
			[]template.HTML{`f(task = <span class="str">r&#34;\d&#34;</span>, len = <span class="num">2</span>)`}},
		{"an unterminated string ends at its line", "x = \"open\ny = 1",
			[]template.HTML{`x = <span class="str">&#34;open</span>`, `y = <span class="num">1</span>`}},
		{"attributes are not builtins", "ctx.log(1)",
			[]template.HTML{`ctx.log(<span class="num">1</span>)`}},
		{"empty source is one empty line", "", []template.HTML{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := highlightStarlark(tc.src)
			if len(got) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(tc.want), join(got))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}

func join(lines []template.HTML) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(string(l) + "\n")
	}
	return b.String()
}

// FuzzHighlightStarlark checks that any input highlights without panicking
// and keeps its text: stripping the spans and unescaping gives it back
// (NUL aside, which HTML escaping replaces).
func FuzzHighlightStarlark(f *testing.F) {
	for _, s := range []string{"def f():\n  return 'x' # c\n", `"""a\n"""`, "r'\\'", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		lines := highlightStarlark(src)
		var b strings.Builder
		for i, l := range lines {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(string(l))
		}
		text := spanTags.Replace(b.String())
		src = strings.ReplaceAll(src, "\x00", "\uFFFD") // HTML escaping replaces NUL
		if got, want := unescape(text), strings.TrimSuffix(src, "\n"); got != want && got != src {
			t.Fatalf("text changed:\n got %q\nwant %q", got, want)
		}
	})
}

var spanTags = strings.NewReplacer(`<span class="kw">`, "", `<span class="str">`, "", `<span class="com">`, "",
	`<span class="num">`, "", `<span class="bi">`, "", `<span class="fn">`, "", `</span>`, "")

func unescape(s string) string { return html.UnescapeString(s) }
