package dags

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// linesDAG builds a DAG "test" from lines such as "a >> b >> c" (edges) or
// "a" (a task alone), creating tasks in order of first mention, which
// breaks ties in the topological order. An id with dots belongs to the
// group named by what precedes its last dot, as the loader names grouped
// tasks. It finalizes the DAG unless finalize is false.
func linesDAG(t testing.TB, finalize bool, lines ...string) *DAG {
	t.Helper()
	d := New("test", Pos{File: "test.star", Line: 1})
	for _, line := range lines {
		ids := strings.Split(line, ">>")
		for i := range ids {
			id := strings.TrimSpace(ids[i])
			if d.Task(id) == nil {
				task := NewTask(id, OperatorEmpty, Pos{})
				if j := strings.LastIndexByte(id, '.'); j > 0 {
					task.Group = id[:j]
				}
				d.AddTask(task)
			}
			if i > 0 {
				d.Connect(strings.TrimSpace(ids[i-1]), id, Pos{})
			}
		}
	}
	if finalize {
		mustFinalize(t, d)
	}
	return d
}

// joinBranchDAG has a branch with a join directly after it, groups, and a
// branch inside a nested group; its topological order is not alphabetical
// ("join" comes before "b").
func joinBranchDAG(t testing.TB) *DAG {
	return linesDAG(t, true,
		"branch >> a >> join", "branch >> b", "branch >> join",
		"branch >> g.one >> g.two", "branch >> g.three",
		"g.inner.branch >> g.inner.left", "g.inner.branch >> g.inner.right",
		"g.inner.branch >> g.inner.sub.x >> g.inner.sub.y",
		"g.inner.branch >> g.other", "g.other >> g.inner.left",
	)
}

// reportBranchDAG is (tasks defined in alphabetical order):
//
//	check >> [describe, fix, report, grp.a, grp.c]
//	[describe, fix] >> report;  grp.a >> grp.b >> report;  grp.c
//	inner.pick >> [inner.x, inner.y, inner.sub.p, inner.only];  inner.sub.p >> inner.sub.q
//	x (a top-level task that shares its short name with inner.x)
func reportBranchDAG(t testing.TB) *DAG {
	return linesDAG(t, true,
		"check", "describe", "fix", "grp.a", "grp.b", "grp.c",
		"inner.only", "inner.pick", "inner.sub.p", "inner.sub.q", "inner.x", "inner.y", "report", "x",
		"check >> describe >> report", "check >> fix >> report", "check >> report",
		"check >> grp.a >> grp.b >> report", "check >> grp.c",
		"inner.pick >> inner.x", "inner.pick >> inner.y", "inner.pick >> inner.sub.p >> inner.sub.q",
		"inner.pick >> inner.only",
	)
}

func TestBranchSkips(t *testing.T) {
	t.Parallel()
	join, report := joinBranchDAG(t), reportBranchDAG(t)
	for _, tc := range []struct {
		name   string
		dag    *DAG
		branch string
		chosen []string
		want   []string
	}{
		{"one task skips the other direct downstream tasks", join, "branch", []string{"b"},
			[]string{"a", "join", "g.one", "g.three"}},
		{"a join reached from the chosen task is not skipped", join, "branch", []string{"a"},
			[]string{"b", "g.one", "g.three"}},
		{"several tasks", join, "branch", []string{"a", "b"}, []string{"g.one", "g.three"}},
		{"a group stands for its roots; the order is topological", join, "branch", []string{"g"},
			[]string{"a", "join", "b"}},
		{"choosing nothing skips every direct downstream task", join, "branch", nil,
			[]string{"a", "join", "b", "g.one", "g.three"}},
		{"a duplicate id counts once", join, "branch", []string{"b", "b"},
			[]string{"a", "join", "g.one", "g.three"}},
		{"a task not directly downstream keeps all but what it reaches", join, "branch", []string{"g.two"},
			[]string{"a", "join", "b", "g.one", "g.three"}},
		{"an id relative to the branch task's group", join, "g.inner.branch", []string{"left"},
			[]string{"g.inner.right", "g.inner.sub.x", "g.other"}},
		{"a nested group relative to the branch task's group", join, "g.inner.branch", []string{"sub"},
			[]string{"g.inner.right", "g.other", "g.inner.left"}},
		{"an absolute id wins over a relative one (join DAG)", join, "g.inner.branch", []string{"g.other"},
			[]string{"g.inner.right", "g.inner.sub.x"}},
		{"a nested group by its full id", join, "g.inner.branch", []string{"g.inner.sub"},
			[]string{"g.inner.right", "g.other", "g.inner.left"}},
		{"the branch task's own group has it as a root, so nothing is skipped",
			join, "g.inner.branch", []string{"g.inner"}, nil},

		{"one task; the join downstream of it is kept", report, "check", []string{"describe"},
			[]string{"fix", "grp.a", "grp.c"}},
		{"a list of tasks", report, "check", []string{"describe", "fix"}, []string{"grp.a", "grp.c"}},
		{"a group id follows the group's roots", report, "check", []string{"grp"}, []string{"describe", "fix"}},
		{"a task inside a group by its full id", report, "check", []string{"grp.c"},
			[]string{"describe", "fix", "grp.a", "report"}},
		{"the join itself", report, "check", []string{"report"}, []string{"describe", "fix", "grp.a", "grp.c"}},
		{"None skips every direct downstream", report, "check", nil,
			[]string{"describe", "fix", "grp.a", "grp.c", "report"}},
		{"an empty list skips every direct downstream", report, "check", []string{},
			[]string{"describe", "fix", "grp.a", "grp.c", "report"}},
		{"a relative id inside the branch's group", report, "inner.pick", []string{"only"},
			[]string{"inner.sub.p", "inner.x", "inner.y"}},
		{"a relative group id inside the branch's group", report, "inner.pick", []string{"sub"},
			[]string{"inner.only", "inner.x", "inner.y"}},
		{"an absolute id inside the group", report, "inner.pick", []string{"inner.y"},
			[]string{"inner.only", "inner.sub.p", "inner.x"}},
		{"an absolute id wins over a relative one", report, "inner.pick", []string{"x"},
			[]string{"inner.only", "inner.sub.p", "inner.x", "inner.y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.dag.BranchSkips(tc.branch, tc.chosen)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("BranchSkips(%s, %q): got %v, want %v", tc.branch, tc.chosen, got, tc.want)
			}
		})
	}
}

// TestBranchSkipsGroups checks what counts as a group: a group holding only
// groups, a group whose id is also a task's (the group wins, as in
// Airflow's resolution), and a DAG not yet finalized.
func TestBranchSkipsGroups(t *testing.T) {
	t.Parallel()
	lines := []string{
		"br >> outer.inner.a >> outer.inner.b", "br >> dup >> tail", "br >> dup.x", "br >> z",
	}
	for _, finalize := range []bool{true, false} {
		d := linesDAG(t, finalize, lines...)
		for _, tc := range []struct {
			chosen []string
			want   []string
		}{
			{[]string{"outer"}, []string{"dup", "dup.x", "z"}},
			{[]string{"outer.inner"}, []string{"dup", "dup.x", "z"}},
			{[]string{"dup"}, []string{"outer.inner.a", "dup", "z"}},
			{[]string{"dup.x", "z"}, []string{"outer.inner.a", "dup"}},
		} {
			t.Run(fmt.Sprintf("finalized=%v/%s", finalize, strings.Join(tc.chosen, ",")), func(t *testing.T) {
				t.Parallel()
				got, err := d.BranchSkips("br", tc.chosen)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("BranchSkips(br, %q): got %v, want %v", tc.chosen, got, tc.want)
				}
			})
		}
	}
}

func TestBranchSkipsErrors(t *testing.T) {
	t.Parallel()
	small := linesDAG(t, true, "branch >> a", "branch >> g.b", "g.c >> g.d")
	report := reportBranchDAG(t)
	for _, tc := range []struct {
		name   string
		dag    *DAG
		branch string
		chosen []string
		want   []string // fragments of the error
		not    []string // fragments it must not have
	}{
		{"an unknown id", small, "branch", []string{"a", "nope"},
			[]string{`returned "nope", which is not`, `"branch"`, `DAG "test"`}, nil},
		{"every unknown id is named", small, "branch", []string{"x", "y"},
			[]string{`"x", "y", which are not`}, nil},
		{"a duplicate unknown id is named once", small, "branch", []string{"nope", "nope"},
			[]string{`returned "nope", which is not`}, []string{`"nope", "nope"`}},
		{"a relative id outside the branch task's group", small, "branch", []string{"b"},
			[]string{`"b"`, `did you mean "g.b"?`, "direct downstream: a, g.b"}, nil},
		{"a branch task without downstream tasks", small, "g.d", []string{"x"},
			[]string{`returned "x"`, "(the branch task has no downstream tasks)"}, []string{"did you mean"}},
		{"an unknown branch task", small, "missing", []string{"a"},
			[]string{`branch task "missing" is not in DAG "test"`}, nil},

		{"a typo gets a hint", report, "check", []string{"fxi"},
			[]string{`returned "fxi"`, `did you mean "fix"?`, "direct downstream: describe, fix, grp.a, grp.c, report"}, nil},
		{"a typo of a relative id", report, "inner.pick", []string{"onyl"},
			[]string{`did you mean "inner.only"?`}, nil},
		{"nothing close", report, "check", []string{"zzzzzzzz"},
			[]string{`returned "zzzzzzzz"`, "direct downstream:"}, []string{"did you mean"}},
		{"a hint for each of several ids", report, "check", []string{"fxi", "zzzzzzzz", "reprot"},
			[]string{`returned "fxi", "zzzzzzzz", "reprot", which are not`, `did you mean "fix" for "fxi", "report" for "reprot"?`},
			[]string{`for "zzzzzzzz"`}},
		{"an unknown branch task (report DAG)", report, "nope", []string{"fix"},
			[]string{`branch task "nope" is not in DAG`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.dag.BranchSkips(tc.branch, tc.chosen)
			if err == nil {
				t.Fatalf("no error; skips %v", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %s", err, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %s", err, w)
				}
			}
		})
	}
}

func TestShortCircuitSkips(t *testing.T) {
	t.Parallel()
	d := linesDAG(t, true, "up >> sc >> a >> b >> c", "sc >> d >> c", "up >> side")
	for _, tc := range []struct {
		name   string
		task   string
		ignore bool
		want   []string
	}{
		{"all transitive downstream by default, in topological order", "sc", true, []string{"a", "b", "d", "c"}},
		{"direct downstream when trigger rules are respected", "sc", false, []string{"a", "d"}},
		{"a leaf skips nothing", "c", true, nil},
		{"a leaf skips nothing when trigger rules are respected", "c", false, nil},
		{"an unknown task skips nothing", "nope", true, nil},
		{"an unknown task skips nothing when trigger rules are respected", "nope", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := d.ShortCircuitSkips(tc.task, tc.ignore); !slices.Equal(got, tc.want) {
				t.Errorf("ShortCircuitSkips(%s, %v): got %v, want %v", tc.task, tc.ignore, got, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"same", "same", 0},
		{"fix", "fxi", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}, {"report", "reprot", 1},
	} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := EditDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func BenchmarkBranchSkips(b *testing.B) {
	d := reportBranchDAG(b)
	for b.Loop() {
		if _, err := d.BranchSkips("check", []string{"describe"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBranchSkipsGroups1000 chooses a group and a task among 1,000
// grouped tasks directly downstream of the branch.
func BenchmarkBranchSkipsGroups1000(b *testing.B) {
	lines := make([]string, 0, 1000)
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("br >> g%d.t%d", i%50, i))
	}
	d := linesDAG(b, true, lines...)
	for b.Loop() {
		skip, err := d.BranchSkips("br", []string{"g7", "g9.t9"})
		if err != nil {
			b.Fatal(err)
		}
		if len(skip) != 1000-20-1 {
			b.Fatalf("skipped %d tasks", len(skip))
		}
	}
}
