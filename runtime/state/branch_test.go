package state

import (
	"slices"
	"strings"
	"testing"
)

func TestBranchSkips(t *testing.T) {
	t.Parallel()
	d := newDAG(t,
		"branch >> a >> join", "branch >> b", "branch >> join",
		"branch >> g.one >> g.two", "branch >> g.three",
		"g.inner.branch >> g.inner.left", "g.inner.branch >> g.inner.right",
		"g.inner.branch >> g.inner.sub.x >> g.inner.sub.y",
		"g.inner.branch >> g.other", "g.other >> g.inner.left",
	)
	for _, tc := range []struct {
		name   string
		branch string
		chosen []string
		want   []string
	}{
		{"one task skips the other direct downstream tasks", "branch", []string{"b"},
			[]string{"a", "join", "g.one", "g.three"}},
		{"a join reached from the chosen task is not skipped", "branch", []string{"a"},
			[]string{"b", "g.one", "g.three"}},
		{"several tasks", "branch", []string{"a", "b"}, []string{"g.one", "g.three"}},
		{"a group stands for its roots", "branch", []string{"g"}, []string{"a", "join", "b"}},
		{"choosing nothing skips every direct downstream task", "branch", nil,
			[]string{"a", "join", "b", "g.one", "g.three"}},
		{"a duplicate id counts once", "branch", []string{"b", "b"},
			[]string{"a", "join", "g.one", "g.three"}},
		{"a task not directly downstream keeps all but what it reaches", "branch", []string{"g.two"},
			[]string{"a", "join", "b", "g.one", "g.three"}},
		{"an id relative to the branch task's group", "g.inner.branch", []string{"left"},
			[]string{"g.inner.right", "g.inner.sub.x", "g.other"}},
		{"a nested group relative to the branch task's group", "g.inner.branch", []string{"sub"},
			[]string{"g.inner.right", "g.other", "g.inner.left"}},
		{"an absolute id wins over a relative one", "g.inner.branch", []string{"g.other"},
			[]string{"g.inner.right", "g.inner.sub.x"}},
		{"a nested group by its full id", "g.inner.branch", []string{"g.inner.sub"},
			[]string{"g.inner.right", "g.other", "g.inner.left"}},
		{"the branch task's own group has it as a root, so nothing is skipped",
			"g.inner.branch", []string{"g.inner"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := BranchSkips(d, tc.branch, tc.chosen)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("BranchSkips(%s, %q): got %v, want %v", tc.branch, tc.chosen, got, tc.want)
			}
		})
	}
}

func TestBranchSkipsErrors(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "branch >> a", "branch >> g.b", "g.c >> g.d")
	for _, tc := range []struct {
		name   string
		branch string
		chosen []string
		want   []string // fragments of the error
	}{
		{"an unknown id", "branch", []string{"a", "nope"}, []string{`"nope"`, `"branch"`, `DAG "test"`}},
		{"every unknown id is named", "branch", []string{"x", "y"}, []string{`"x", "y"`}},
		{"a relative id outside the branch task's group", "branch", []string{"b"}, []string{`"b"`}},
		{"an unknown branch task", "missing", []string{"a"}, []string{`"missing"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := BranchSkips(d, tc.branch, tc.chosen)
			if err == nil {
				t.Fatalf("no error; skips %v", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestShortCircuitSkips(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "up >> sc >> a >> b >> c", "sc >> d >> c", "up >> side")
	for _, tc := range []struct {
		name   string
		task   string
		ignore bool
		want   []string
	}{
		{"all transitive downstream by default", "sc", true, []string{"a", "b", "d", "c"}},
		{"direct downstream when trigger rules are respected", "sc", false, []string{"a", "d"}},
		{"a leaf skips nothing", "c", true, nil},
		{"an unknown task skips nothing", "nope", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ShortCircuitSkips(d, tc.task, tc.ignore); !slices.Equal(got, tc.want) {
				t.Errorf("ShortCircuitSkips(%s, %v): got %v, want %v", tc.task, tc.ignore, got, tc.want)
			}
		})
	}
}
