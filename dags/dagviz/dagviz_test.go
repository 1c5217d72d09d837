package dagviz_test

import (
	"io"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/dags/dagviz"
)

func diamond(t *testing.T) *dags.DAG {
	t.Helper()
	d := dags.New("diamond", dags.Pos{File: "d.star", Line: 1})
	for i, id := range []string{"extract", "clean", "enrich", "load"} {
		d.AddTask(dags.NewTask(id, "bash", dags.Pos{File: "d.star", Line: i + 2}))
	}
	d.Connect("extract", "clean", dags.Pos{})
	d.Connect("extract", "enrich", dags.Pos{})
	d.Connect("clean", "load", dags.Pos{})
	d.Connect("enrich", "load", dags.Pos{})
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	return d
}

func TestTextDrawsForksAndJoins(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := dagviz.Text(&b, diamond(t), map[string]dags.TaskState{"load": dags.TaskStateFailed}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"●  extract (bash)",
		"├─╮",
		"● │  clean (bash)",
		"│ ●  enrich (bash)",
		"●─╯  load (bash) [failed]",
		"",
	}, "\n")
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestDOTAndMermaidHaveEveryEdge(t *testing.T) {
	t.Parallel()
	d := diamond(t)
	var dot, mm strings.Builder
	if err := dagviz.DOT(&dot, d, map[string]dags.TaskState{"clean": dags.TaskStateSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := dagviz.Mermaid(&mm, d, map[string]dags.TaskState{"clean": dags.TaskStateSuccess}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"extract" -> "clean";`, `"extract" -> "enrich";`, `"clean" -> "load";`, `"enrich" -> "load";`, `fillcolor="#008000"`, "rankdir=LR"} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot.String())
		}
	}
	for _, want := range []string{"flowchart LR", `t0["extract"]`, "t0 --> t1", "t0 --> t2", "t1 --> t3", "t2 --> t3", "classDef success fill:#008000"} {
		if !strings.Contains(mm.String(), want) {
			t.Errorf("Mermaid lacks %s:\n%s", want, mm.String())
		}
	}
}

func TestTextSeparatesUnrelatedRoots(t *testing.T) {
	t.Parallel()
	d := dags.New("two", dags.Pos{File: "t.star", Line: 1})
	for i, id := range []string{"a", "b", "c"} {
		d.AddTask(dags.NewTask(id, "", dags.Pos{File: "t.star", Line: i + 2}))
	}
	d.Connect("a", "b", dags.Pos{})
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	var b strings.Builder
	if err := dagviz.Text(&b, d, nil); err != nil {
		t.Fatal(err)
	}
	want := "●  a\n●  b\n\n●  c\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestMappedTasksAreMarkedInEveryDrawing(t *testing.T) {
	d := dags.New("m", dags.Pos{})
	d.AddTask(dags.NewTask("src", "task", dags.Pos{}))
	m := dags.NewTask("each", "task", dags.Pos{})
	m.Expand = []dags.MapArg{{Name: "x", Value: []any{int64(1)}}}
	d.AddTask(m)
	d.Connect("src", "each", dags.Pos{})
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	for name, draw := range map[string]func(io.Writer, *dags.DAG, map[string]dags.TaskState) error{"text": dagviz.Text, "dot": dagviz.DOT, "mermaid": dagviz.Mermaid} {
		var b strings.Builder
		if err := draw(&b, d, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "each [ ]") || strings.Contains(b.String(), "src [ ]") {
			t.Errorf("%s drawing does not mark only the mapped task:\n%s", name, b.String())
		}
	}
}

func TestEdgeLabelsInEveryFormat(t *testing.T) {
	t.Parallel()
	d := dags.New("labels", dags.Pos{File: "l.star", Line: 1})
	for i, id := range []string{"check", "big", "small"} {
		d.AddTask(dags.NewTask(id, "empty", dags.Pos{File: "l.star", Line: i + 2}))
	}
	d.Connect("check", "big", dags.Pos{})
	d.Connect("check", "small", dags.Pos{})
	d.SetEdgeLabel("check", "big", `n > 10 "big"`)
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	var dot, mm, text strings.Builder
	if err := dagviz.DOT(&dot, d, nil); err != nil {
		t.Fatal(err)
	}
	if err := dagviz.Mermaid(&mm, d, nil); err != nil {
		t.Fatal(err)
	}
	if err := dagviz.Text(&text, d, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"check" -> "big" [label="n > 10 \"big\""];`, `"check" -> "small";`} {
		if !strings.Contains(dot.String(), want) {
			t.Errorf("DOT lacks %s:\n%s", want, dot.String())
		}
	}
	for _, want := range []string{`t0 -->|"n #gt; 10 #quot;big#quot;"| t1`, "t0 --> t2"} {
		if !strings.Contains(mm.String(), want) {
			t.Errorf("Mermaid lacks %s:\n%s", want, mm.String())
		}
	}
	if want := `big (empty) ← check: "n > 10 \"big\""`; !strings.Contains(text.String(), want) {
		t.Errorf("text lacks %s:\n%s", want, text.String())
	}
	if strings.Contains(text.String(), "small (empty) ←") {
		t.Errorf("text labels an unlabelled edge:\n%s", text.String())
	}
}

func TestSetupAndTeardownAreMarkedInEveryDrawing(t *testing.T) {
	d := dags.New("st", dags.Pos{})
	for _, id := range []string{"create", "query", "delete"} {
		d.AddTask(dags.NewTask(id, "bash", dags.Pos{}))
	}
	d.Task("create").IsSetup = true
	d.Task("delete").IsTeardown = true
	d.Task("delete").TriggerRule = dags.TriggerAllDoneSetupSuccess
	d.Connect("create", "query", dags.Pos{})
	d.Connect("query", "delete", dags.Pos{})
	d.Connect("create", "delete", dags.Pos{})
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	for name, tc := range map[string]struct {
		draw func(io.Writer, *dags.DAG, map[string]dags.TaskState) error
		want []string
	}{
		"text":    {dagviz.Text, []string{"create ↑ setup", "delete ↓ teardown"}},
		"dot":     {dagviz.DOT, []string{`"create ↑"`, `"delete ↓"`, `"create" -> "delete" [style=dashed]`, `"create" -> "query";`}},
		"mermaid": {dagviz.Mermaid, []string{`"create ↑"`, `"delete ↓"`, "t0 -.-> t2", "t0 --> t1"}},
	} {
		var b strings.Builder
		if err := tc.draw(&b, d, nil); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s drawing lacks %q:\n%s", name, w, b.String())
			}
		}
		if strings.Contains(b.String(), "query ↑") || strings.Contains(b.String(), "query ↓") {
			t.Errorf("%s drawing marks the work task:\n%s", name, b.String())
		}
	}
}
