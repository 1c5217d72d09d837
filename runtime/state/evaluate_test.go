package state

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func changeList(pairs ...string) []Change {
	var out []Change
	for _, p := range pairs {
		var c Change
		var from, to string
		if _, err := fmt.Sscanf(p, "%s %s %s", &c.TaskID, &from, &to); err != nil {
			panic(fmt.Sprintf("bad change %q: %v", p, err))
		}
		c.From, c.To = dags.TaskState(from), dags.TaskState(to)
		c.MapIndex = -1
		if id, idx, ok := strings.Cut(c.TaskID, "["); ok {
			c.TaskID = id
			if _, err := fmt.Sscanf(idx, "%d]", &c.MapIndex); err != nil {
				panic(fmt.Sprintf("bad map index in %q: %v", p, err))
			}
		}
		out = append(out, c)
	}
	return out
}

func checkChanges(t *testing.T, got []Change, want ...string) {
	t.Helper()
	if w := changeList(want...); !slices.Equal(got, w) {
		t.Errorf("changes:\n got  %v\n want %v", got, w)
	}
}

func TestEvaluateFailedRootFailsTheChainInOneCall(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> b >> c >> d")
	tis := tiMap("a=failed", "b=none", "c=none", "d=none")
	want := []string{"b none upstream_failed", "c none upstream_failed", "d none upstream_failed"}
	t.Run("with the failed task's downstream as candidates", func(t *testing.T) {
		t.Parallel()
		checkChanges(t, Evaluate(d, tis, t0, []string{"b"}), want...)
	})
	t.Run("over the whole run", func(t *testing.T) {
		t.Parallel()
		checkChanges(t, Evaluate(d, tis, t0, nil), want...)
	})
}

func TestEvaluateSchedulesRootsAndWaits(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> c", "b >> c", "c >> e", "d")
	tis := map[string]TI{} // missing task instances count as none
	checkChanges(t, Evaluate(d, tis, t0, nil),
		"a none scheduled", "b none scheduled", "d none scheduled")
	tis = tiMap("a=success", "b=running", "c=", "d=success", "e=")
	checkChanges(t, Evaluate(d, tis, t0, []string{"c"}))
	tis["b"] = TI{State: dags.TaskStateSuccess}
	checkChanges(t, Evaluate(d, tis, t0, []string{"c"}), "c none scheduled")
}

func TestEvaluateVisitsOnlyCandidates(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> b", "x >> y")
	tis := tiMap("a=success", "b=none", "x=success", "y=none")
	checkChanges(t, Evaluate(d, tis, t0, []string{"b"}), "b none scheduled")
	checkChanges(t, Evaluate(d, tis, t0, []string{}))
	checkChanges(t, Evaluate(d, tis, t0, []string{"nope", "y", "y"}), "y none scheduled")
}

func TestEvaluateDoesNotMutateItsInput(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> b >> c", "a >> d")
	tis := tiMap("a=failed", "b=none", "c=none", "d=none")
	before := maps.Clone(tis)
	if got := Evaluate(d, tis, t0, nil); len(got) != 3 {
		t.Fatalf("expected 3 changes, got %v", got)
	}
	if !maps.EqualFunc(tis, before, func(a, b TI) bool { return reflect.DeepEqual(a, b) }) {
		t.Errorf("Evaluate changed its input: %v, was %v", tis, before)
	}
}

func TestEvaluateVisitsInTopologicalOrder(t *testing.T) {
	t.Parallel()
	// j sees r1 skipped and m upstream_failed: failure beats skip, but only
	// if m is decided before j although j is listed first.
	d := newDAG(t, "r2 >> m >> j", "r1 >> j")
	tis := tiMap("r1=skipped", "r2=failed", "m=none", "j=none")
	checkChanges(t, Evaluate(d, tis, t0, []string{"j", "m"}),
		"m none upstream_failed", "j none upstream_failed")
}

func TestEvaluateCascadesSkipsThroughTriggerRules(t *testing.T) {
	t.Parallel()
	d := newDAG(t,
		"s >> a >> b", "a >> c", "a >> e >> f",
		"c: all_done", "e: none_failed", "f: all_skipped")
	tis := tiMap("s=skipped", "a=none", "b=none", "c=none", "e=none", "f=none")
	checkChanges(t, Evaluate(d, tis, t0, []string{"a"}),
		"a none skipped", "b none skipped", "c none scheduled", "e none scheduled")
}

func TestEvaluateBranchThenJoin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		joinRule dags.TriggerRule
		cascade  []string // decided right after the branch
		joinEnd  dags.TaskState
	}{
		{"a none_failed_min_one_success join runs once the chosen path is done",
			dags.TriggerNoneFailedMinOneSuccess,
			[]string{"x none scheduled", "y2 none skipped"}, dags.TaskStateScheduled},
		{"an all_success join is skipped at once",
			dags.TriggerAllSuccess,
			[]string{"x none scheduled", "y2 none skipped", "join none skipped"}, dags.TaskStateSkipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDAG(t, "start >> check >> x >> join", "check >> y >> y2 >> join",
				"join: "+string(tc.joinRule))
			tis := tiMap("start=success", "check=success", "x=none", "y=none", "y2=none", "join=none")
			skip, err := d.BranchSkips("check", []string{"x"})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(skip, []string{"y"}) {
				t.Fatalf("BranchSkips: got %v, want [y]", skip)
			}
			changes := ApplySkip(d, tis, skip)
			checkChanges(t, changes, "y none skipped")
			apply(tis, changes)
			// Mini-scheduling after the branch: its direct downstream tasks
			// and those of the tasks it skipped.
			candidates := append(slices.Clone(d.Task("check").Downstream), d.Task("y").Downstream...)
			changes = Evaluate(d, tis, t0, candidates)
			checkChanges(t, changes, tc.cascade...)
			apply(tis, changes)
			tis["x"] = TI{State: dags.TaskStateSuccess}
			apply(tis, Evaluate(d, tis, t0, []string{"join"}))
			if got := tis["join"].State; got != tc.joinEnd {
				t.Errorf("join: got %s, want %s", got, tc.joinEnd)
			}
		})
	}
}

func TestEvaluateShortCircuit(t *testing.T) {
	t.Parallel()
	spec := []string{"sc >> a >> b", "a >> c", "c: all_done", "sc >> z", "z: all_done"}
	t.Run("ignoring downstream trigger rules skips everything after", func(t *testing.T) {
		t.Parallel()
		d := newDAG(t, spec...)
		tis := tiMap("sc=success")
		skip := d.ShortCircuitSkips("sc", true)
		if !slices.Equal(skip, []string{"a", "b", "c", "z"}) {
			t.Fatalf("ShortCircuitSkips: got %v", skip)
		}
		apply(tis, ApplySkip(d, tis, skip))
		checkChanges(t, Evaluate(d, tis, t0, nil))
		for _, id := range skip {
			if tis[id].State != dags.TaskStateSkipped {
				t.Errorf("%s: got %s, want skipped", id, tis[id].State)
			}
		}
		if got := RunState(d, tis, t0); got != dags.DagRunStateSuccess {
			t.Errorf("run state: got %s, want success", got)
		}
	})
	t.Run("respecting them skips the direct downstream only", func(t *testing.T) {
		t.Parallel()
		d := newDAG(t, spec...)
		tis := tiMap("sc=success")
		skip := d.ShortCircuitSkips("sc", false)
		if !slices.Equal(skip, []string{"a", "z"}) {
			t.Fatalf("ShortCircuitSkips: got %v", skip)
		}
		changes := ApplySkip(d, tis, skip)
		apply(tis, changes)
		checkChanges(t, Evaluate(d, tis, t0, []string{"b", "c"}),
			"b none skipped", "c none scheduled")
	})
}

func TestEvaluateRetry(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "up >> r", "up >> s")
	next := t0.Add(5 * time.Minute)
	tis := map[string]TI{
		"up": {State: dags.TaskStateSuccess},
		"r":  {State: dags.TaskStateUpForRetry, TryNumber: 1, NextRetryAt: next},
		"s":  {State: dags.TaskStateUpForReschedule, TryNumber: 1, NextRetryAt: next.Add(time.Minute)},
	}
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{t0, nil},
		{next.Add(-time.Second), nil},
		{next, []string{"r up_for_retry scheduled"}},
		{next.Add(time.Minute), []string{"r up_for_retry scheduled", "s up_for_reschedule scheduled"}},
	} {
		t.Run(tc.now.Format(time.TimeOnly), func(t *testing.T) {
			t.Parallel()
			checkChanges(t, Evaluate(d, tis, tc.now, []string{"r", "s"}), tc.want...)
			checkChanges(t, Evaluate(d, tis, tc.now, nil), tc.want...)
		})
	}
	t.Run("a zero NextRetryAt retries at once", func(t *testing.T) {
		t.Parallel()
		tis := map[string]TI{"up": {State: dags.TaskStateSuccess}, "r": {State: dags.TaskStateUpForRetry}}
		checkChanges(t, Evaluate(d, tis, t0, []string{"r"}), "r up_for_retry scheduled")
	})
	t.Run("other states are left alone", func(t *testing.T) {
		t.Parallel()
		tis := tiMap("up=success", "r=queued", "s=deferred")
		checkChanges(t, Evaluate(d, tis, t0, nil))
	})
}

func TestApplySkip(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> b >> c >> d >> e >> f >> g >> h >> i")
	tis := tiMap("a=running", "b=success", "c=failed", "d=none", "e=scheduled",
		"f=queued", "g=up_for_retry", "h=skipped")
	checkChanges(t, ApplySkip(d, tis, []string{"i", "h", "g", "f", "e", "d", "c", "b", "a", "d", "zz"}),
		"d none skipped", "e scheduled skipped", "f queued skipped", "g up_for_retry skipped", "i none skipped")
	for _, c := range ApplySkip(d, tis, d.TaskIDs()) {
		if !CanTransition(c.From, c.To) {
			t.Errorf("ApplySkip made an illegal change %v", c)
		}
	}
}

// TestEvaluateProperty drives random DAGs to completion with random
// outcomes. At every fixed point each task left in none waits on at least
// one unfinished upstream task; Evaluate over the whole run and Evaluate
// over the finished task's downstream decide the same; one call reaches the
// fixed point; and every run ends with every task finished.
func TestEvaluateProperty(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 42))
			d := randomDAG(t, rng)
			tis := map[string]TI{}
			apply(tis, Evaluate(d, tis, t0, nil))
			retried := map[string]bool{}
			for step := 0; ; step++ {
				if step > 10*d.Len() {
					t.Fatalf("no end after %d steps: %v", step, tis)
				}
				if again := Evaluate(d, tis, t0, nil); len(again) > 0 {
					t.Fatalf("step %d: not a fixed point after one call: %v", step, again)
				}
				checkWaiting(t, d, tis)
				var scheduled []string
				for _, tk := range d.Tasks() {
					if stateOf(tis, tk.ID) == dags.TaskStateScheduled {
						scheduled = append(scheduled, tk.ID)
					}
				}
				if len(scheduled) == 0 {
					break
				}
				id := scheduled[rng.IntN(len(scheduled))]
				outcome := []dags.TaskState{dags.TaskStateSuccess, dags.TaskStateSuccess,
					dags.TaskStateFailed, dags.TaskStateSkipped, dags.TaskStateUpForRetry}[rng.IntN(5)]
				if outcome == dags.TaskStateUpForRetry && retried[id] {
					outcome = dags.TaskStateFailed
				}
				retried[id] = true
				tis[id] = TI{State: outcome, NextRetryAt: t0}
				candidates := slices.Clone(d.Task(id).Downstream)
				if outcome == dags.TaskStateUpForRetry {
					candidates = append(candidates, id)
				}
				all := Evaluate(d, tis, t0, nil)
				mini := Evaluate(d, tis, t0, candidates)
				if !slices.Equal(all, mini) {
					t.Fatalf("step %d after %s=%s: whole run decides %v, mini-scheduling %v", step, id, outcome, all, mini)
				}
				apply(tis, mini)
			}
			for _, tk := range d.Tasks() {
				if s := stateOf(tis, tk.ID); !s.Finished() {
					t.Errorf("task %s ended %s", tk.ID, s)
				}
			}
			if got := RunState(d, tis, t0); !got.Finished() {
				t.Errorf("run state at the end: %s", got)
			}
		})
	}
}

// checkWaiting asserts that every task in none is waiting on an unfinished
// upstream task.
func checkWaiting(t *testing.T, d *dags.DAG, tis map[string]TI) {
	t.Helper()
	for _, tk := range d.Tasks() {
		if stateOf(tis, tk.ID) != dags.TaskStateNone {
			continue
		}
		pending := false
		var ups []dags.TaskState
		for _, u := range tk.Upstream {
			s := stateOf(tis, u)
			ups = append(ups, s)
			pending = pending || !s.Finished()
		}
		if !pending {
			t.Fatalf("task %s (%s) is undecided although its upstream %v all finished", tk.ID, tk.TriggerRule, ups)
		}
		if dec := EvaluateTriggerRule(tk.TriggerRule, CountUpstream(ups)); dec != DecisionWait {
			t.Fatalf("task %s (%s) left in none although its rule decides %s on %v", tk.ID, tk.TriggerRule, dec, ups)
		}
	}
}

// randomDAG returns a DAG of 1–40 tasks with random edges (from lower to
// higher numbers, so no cycles) and random trigger rules.
func randomDAG(t testing.TB, rng *rand.Rand) *dags.DAG {
	n := 1 + rng.IntN(40)
	p := rng.Float64() * 0.3
	lines := make([]string, 0, 2*n)
	for i := range n {
		lines = append(lines, fmt.Sprintf("t%02d", i))
		rule := dags.AllTriggerRules[rng.IntN(len(dags.AllTriggerRules))]
		if rng.IntN(3) == 0 {
			rule = dags.TriggerAllSuccess
		}
		lines = append(lines, fmt.Sprintf("t%02d: %s", i, rule))
		for j := range i {
			if rng.Float64() < p {
				lines = append(lines, fmt.Sprintf("t%02d >> t%02d", j, i))
			}
		}
	}
	return newDAG(t, lines...)
}

func chainDAG(b testing.TB, n int) *dags.DAG {
	lines := make([]string, 0, n)
	for i := 1; i < n; i++ {
		lines = append(lines, fmt.Sprintf("t%04d >> t%04d", i-1, i))
	}
	return newDAG(b, lines...)
}

// BenchmarkEvaluateChain drives a 1,000-task chain to completion one task at
// a time, as a worker's mini-scheduling does: each finished task's direct
// downstream tasks are the candidates. One op is the whole run.
func BenchmarkEvaluateChain(b *testing.B) {
	d := chainDAG(b, 1000)
	tasks := d.Tasks()
	tis := make(map[string]TI, len(tasks))
	b.ReportAllocs()
	for b.Loop() {
		clear(tis)
		apply(tis, Evaluate(d, tis, t0, []string{tasks[0].ID}))
		for _, tk := range tasks {
			tis[tk.ID] = TI{State: dags.TaskStateSuccess, TryNumber: 1}
			apply(tis, Evaluate(d, tis, t0, tk.Downstream))
		}
		if tis[tasks[len(tasks)-1].ID].State != dags.TaskStateSuccess {
			b.Fatal("chain did not complete")
		}
	}
}

// BenchmarkEvaluateFanOut schedules the 1,000 children of a finished root.
func BenchmarkEvaluateFanOut(b *testing.B) {
	lines := make([]string, 0, 1000)
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("root >> c%04d", i))
	}
	d := newDAG(b, lines...)
	tis := map[string]TI{"root": {State: dags.TaskStateSuccess}}
	candidates := d.Task("root").Downstream
	b.ReportAllocs()
	for b.Loop() {
		if got := Evaluate(d, tis, t0, candidates); len(got) != 1000 {
			b.Fatalf("scheduled %d tasks, want 1000", len(got))
		}
	}
}

// BenchmarkEvaluateFanOutFailed cascades a root failure through a fan-out
// of 1,000 tasks, each followed by one more (2,000 changes).
func BenchmarkEvaluateFanOutFailed(b *testing.B) {
	lines := make([]string, 0, 1000)
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("root >> c%04d >> d%04d", i, i))
	}
	d := newDAG(b, lines...)
	tis := map[string]TI{"root": {State: dags.TaskStateFailed}}
	candidates := d.Task("root").Downstream
	b.ReportAllocs()
	for b.Loop() {
		if got := Evaluate(d, tis, t0, candidates); len(got) != 2000 {
			b.Fatalf("decided %d tasks, want 2000", len(got))
		}
	}
}
