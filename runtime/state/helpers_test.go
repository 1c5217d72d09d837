package state

import (
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

// newDAG builds and finalizes a DAG from lines such as "a >> b >> c" (edges,
// tasks created in order of first mention) and "c: all_done" (a trigger
// rule). An id with dots belongs to the group named by what precedes its
// last dot, as the loader names grouped tasks.
func newDAG(t testing.TB, lines ...string) *dags.DAG {
	t.Helper()
	d := dags.New("test", dags.Pos{File: "test.star", Line: 1})
	task := func(id string) *dags.Task {
		id = strings.TrimSpace(id)
		if tk := d.Task(id); tk != nil {
			return tk
		}
		tk := dags.NewTask(id, dags.OperatorEmpty, dags.Pos{})
		if i := strings.LastIndex(id, "."); i > 0 {
			tk.Group = id[:i]
		}
		d.AddTask(tk)
		return tk
	}
	for _, line := range lines {
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
	if f := d.Finalize(); len(f) > 0 {
		t.Fatalf("test DAG is invalid: %v", f)
	}
	return d
}

// letterStates maps the one-letter state names used in test tables.
var letterStates = map[rune]dags.TaskState{
	'S': dags.TaskStateSuccess,
	'K': dags.TaskStateSkipped,
	'F': dags.TaskStateFailed,
	'U': dags.TaskStateUpstreamFailed,
	'R': dags.TaskStateRemoved,
	'N': dags.TaskStateNone,
	'Q': dags.TaskStateQueued,
	'X': dags.TaskStateRunning,
	'Y': dags.TaskStateUpForRetry,
	'D': dags.TaskStateDeferred,
}

// states turns "SKX" into [success skipped running].
func states(t testing.TB, letters string) []dags.TaskState {
	t.Helper()
	out := make([]dags.TaskState, 0, len(letters))
	for _, r := range letters {
		s, ok := letterStates[r]
		if !ok {
			t.Fatalf("unknown state letter %q in %q", r, letters)
		}
		out = append(out, s)
	}
	return out
}

// tiMap builds task instances from "id=state" pairs.
func tiMap(pairs ...string) map[string]TI {
	m := make(map[string]TI, len(pairs))
	for _, p := range pairs {
		id, s, _ := strings.Cut(p, "=")
		if list, ok := strings.CutPrefix(s, "["); ok {
			// a mapped task: "m=[success,failed]"
			ti := TI{Mapped: []TI{}}
			for _, st := range strings.Split(strings.TrimSuffix(list, "]"), ",") {
				if st != "" {
					ti.Mapped = append(ti.Mapped, TI{State: dags.TaskState(st)})
				}
			}
			m[id] = ti
			continue
		}
		m[id] = TI{State: dags.TaskState(s)}
	}
	return m
}

// apply records changes in tis, as a caller of Evaluate does.
func apply(tis map[string]TI, changes []Change) {
	for _, c := range changes {
		ti := tis[c.TaskID]
		if c.MapIndex >= 0 {
			ti.Mapped = append([]TI(nil), ti.Mapped...)
			ti.Mapped[c.MapIndex].State = c.To
		} else {
			ti.State = c.To
		}
		tis[c.TaskID] = ti
	}
}
