package state

import "github.com/starflow-dev/starflow/dags"

// Inputs returns the tasks of d whose task instance states the decision
// over task t reads: its direct upstream tasks (its trigger rule) and its
// indirect setups (the implicit setup constraint, dags.DAG.IndirectSetups).
// A caller that reads a run partially (only the task instances a finished
// task's downstream decisions need) reads these for every task it passes
// to Evaluate as a candidate or that Evaluate may visit; a decision that
// comes to read more adds it here.
func Inputs(d *dags.DAG, t *dags.Task) []string {
	setups := d.IndirectSetups(t.ID)
	if len(setups) == 0 {
		return t.Upstream
	}
	return append(append(make([]string, 0, len(t.Upstream)+len(setups)), t.Upstream...), setups...)
}
