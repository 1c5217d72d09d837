package state

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// newSetupDAG builds a DAG as newDAG does, then marks tasks: "setup: a b"
// makes a and b setups, "teardown: t" a teardown (trigger rule
// all_done_setup_success) and "teardown!: t" one with
// on_failure_fail_dagrun.
func newSetupDAG(t testing.TB, lines ...string) *dags.DAG {
	t.Helper()
	var edges []string
	marks := map[string][]string{}
	for _, l := range lines {
		if kind, ids, ok := strings.Cut(l, ":"); ok && (kind == "setup" || kind == "teardown" || kind == "teardown!") {
			marks[kind] = append(marks[kind], strings.Fields(ids)...)
			continue
		}
		edges = append(edges, l)
	}
	for _, id := range marks["teardown"] {
		edges = append(edges, id+": all_done_setup_success")
	}
	for _, id := range marks["teardown!"] {
		edges = append(edges, id+": all_done_setup_success")
	}
	// newDAG finalizes; mark first through a DAG built the same way.
	d := dags.New("test", dags.Pos{File: "test.star", Line: 1})
	task := func(id string) *dags.Task {
		id = strings.TrimSpace(id)
		if tk := d.Task(id); tk != nil {
			return tk
		}
		tk := dags.NewTask(id, dags.OperatorEmpty, dags.Pos{})
		d.AddTask(tk)
		return tk
	}
	for _, line := range edges {
		if id, rule, ok := strings.Cut(line, ":"); ok {
			task(id).TriggerRule = dags.TriggerRule(strings.TrimSpace(rule))
			continue
		}
		ids := strings.Split(line, ">>")
		for i := range ids {
			task(ids[i])
			if i > 0 {
				d.Connect(strings.TrimSpace(ids[i-1]), strings.TrimSpace(ids[i]), dags.Pos{})
			}
		}
	}
	for _, id := range marks["setup"] {
		task(id).IsSetup = true
	}
	for _, id := range marks["teardown"] {
		task(id).IsTeardown = true
	}
	for _, id := range marks["teardown!"] {
		task(id).IsTeardown = true
		task(id).OnFailureFailDagrun = true
	}
	if f := d.Finalize(); len(f) > 0 {
		t.Fatalf("test DAG is invalid: %v", f)
	}
	return d
}

func TestTriggerAllDoneSetupSuccess(t *testing.T) {
	t.Parallel()
	// setups and others are the states of the direct upstream setups and
	// of the other direct upstream tasks.
	for _, tc := range []struct {
		setups, others string
		want           Decision
	}{
		{"S", "F", run}, // the work failed: the teardown still runs
		{"S", "U", run},
		{"S", "S", run},
		{"S", "X", wait}, // waits for every upstream
		{"X", "S", wait},
		{"F", "U", upf}, // no setup succeeded
		{"U", "U", upf},
		{"K", "K", skip}, // every setup skipped
		{"KK", "", skip},
		{"KS", "F", run}, // one setup succeeded is enough
		{"KF", "", upf},
		{"", "F", run}, // no setup: all_done
		{"", "X", wait},
	} {
		c := CountUpstream(nil)
		for _, s := range states(t, tc.setups) {
			c.addSetup(s)
		}
		for _, s := range states(t, tc.others) {
			c.add(s)
		}
		if got := EvaluateTriggerRule(dags.TriggerAllDoneSetupSuccess, c); got != tc.want {
			t.Errorf("setups %q, others %q: got %s, want %s", tc.setups, tc.others, got, tc.want)
		}
	}
}

// settle runs Evaluate to a fixed point, running every scheduled task to
// the state outcome gives it (success when it has none).
func settle(t *testing.T, d *dags.DAG, tis map[string]TI, outcome map[string]dags.TaskState) {
	t.Helper()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 100 {
		changes := Evaluate(d, tis, now, nil)
		ran := false
		for _, c := range changes {
			if c.To == dags.TaskStateScheduled {
				to := outcome[c.TaskID]
				if to == "" {
					to = dags.TaskStateSuccess
				}
				changes = append(changes, Change{TaskID: c.TaskID, MapIndex: -1, From: c.To, To: to})
				ran = true
			}
		}
		apply(tis, changes)
		if len(changes) == 0 || !ran && len(Evaluate(d, tis, now, nil)) == 0 {
			return
		}
	}
	t.Fatal("no fixed point after 100 steps")
}

func TestSetupTeardownRuns(t *testing.T) {
	t.Parallel()
	const (
		S = dags.TaskStateSuccess
		F = dags.TaskStateFailed
		K = dags.TaskStateSkipped
		U = dags.TaskStateUpstreamFailed
	)
	type states = map[string]dags.TaskState
	for _, tc := range []struct {
		name    string
		failRun bool
		outcome states
		want    states
		run     dags.DagRunState
	}{
		{name: "everything succeeds", want: states{"create": S, "query": S, "delete": S}, run: dags.DagRunStateSuccess},
		{name: "the work fails: the teardown runs, the run fails",
			outcome: states{"query": F}, want: states{"create": S, "query": F, "delete": S}, run: dags.DagRunStateFailed},
		{name: "the setup fails: the work and the teardown are upstream_failed",
			outcome: states{"create": F}, want: states{"create": F, "query": U, "delete": U}, run: dags.DagRunStateFailed},
		{name: "the setup is skipped: so are the work and the teardown",
			outcome: states{"create": K}, want: states{"create": K, "query": K, "delete": K}, run: dags.DagRunStateSuccess},
		{name: "the teardown fails: the run still succeeds",
			outcome: states{"delete": F}, want: states{"create": S, "query": S, "delete": F}, run: dags.DagRunStateSuccess},
		{name: "the teardown fails with on_failure_fail_dagrun: the run fails", failRun: true,
			outcome: states{"delete": F}, want: states{"create": S, "query": S, "delete": F}, run: dags.DagRunStateFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mark := "teardown: delete"
			if tc.failRun {
				mark = "teardown!: delete"
			}
			d := newSetupDAG(t, "create >> query >> delete", "create >> delete", "setup: create", mark)
			tis := map[string]TI{}
			settle(t, d, tis, tc.outcome)
			for id, want := range tc.want {
				if got := stateOf(tis, id); got != want {
					t.Errorf("%s: got %s, want %s", id, got, want)
				}
			}
			if got := RunState(d, tis, time.Time{}); got != tc.run {
				t.Errorf("run state: got %s, want %s", got, tc.run)
			}
		})
	}
}

func TestSetupConstraintOnIndirectSetups(t *testing.T) {
	t.Parallel()
	// w2 needs s1 although s1 is not its direct upstream task: s1's
	// teardown t1 is downstream of w2.
	d := newSetupDAG(t, "s1 >> w1 >> w2 >> t1 >> w3", "w2 >> w4", "s1 >> t1", "setup: s1", "teardown: t1")
	if got := d.IndirectSetups("w2"); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("IndirectSetups(w2) = %v, want [s1]", got)
	}
	for _, id := range []string{"w4", "w3", "s1", "t1", "w1"} {
		if got := d.IndirectSetups(id); len(got) != 0 {
			t.Errorf("IndirectSetups(%s) = %v, want none", id, got)
		}
	}
	now := time.Time{}
	for _, tc := range []struct{ s1, want string }{
		{"running", ""}, // s1 cleared and running again: w2 waits
		{"none", ""},    // cleared, not started yet
		{"success", "scheduled"},
		{"failed", "upstream_failed"},
		{"skipped", "skipped"},
	} {
		tis := tiMap("s1="+tc.s1, "w1=success", "w2=none")
		var got string
		for _, c := range Evaluate(d, tis, now, []string{"w2"}) {
			if c.TaskID == "w2" {
				got = string(c.To)
			}
		}
		if got != tc.want {
			t.Errorf("s1 %s, w1 success: w2 moved to %q, want %q", tc.s1, got, tc.want)
		}
	}
	// While it waits for s1, w2's own rule still marks it at once.
	tis := tiMap("s1=running", "w1=failed", "w2=none")
	if ch := Evaluate(d, tis, now, []string{"w2"}); len(ch) == 0 || ch[0].To != dags.TaskStateUpstreamFailed {
		t.Errorf("s1 running, w1 failed: got %v, want w2 upstream_failed", ch)
	}
}
