package state

import "github.com/starflow-dev/starflow/dags"

// Inputs returns the tasks whose task instance states the decision over
// task t reads: its direct upstream tasks, the only input of its trigger
// rule. A caller that reads a run partially (only the task instances a
// finished task's downstream decisions need) reads these for every task it
// passes to Evaluate as a candidate or that Evaluate may visit. A rule that
// comes to read more (a teardown's setup tasks) adds them here.
func Inputs(t *dags.Task) []string {
	return t.Upstream
}
