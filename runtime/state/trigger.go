package state

import "github.com/starflow-dev/starflow/dags"

// Decision is the outcome of a trigger rule for one task instance.
type Decision string

// Decisions of EvaluateTriggerRule.
const (
	// DecisionWait leaves the task instance as it is; it is evaluated again
	// when an upstream task instance changes.
	DecisionWait Decision = "wait"
	// DecisionRun lets the task instance be scheduled.
	DecisionRun Decision = "run"
	// DecisionSkip marks the task instance skipped; it never runs.
	DecisionSkip Decision = "skip"
	// DecisionUpstreamFailed marks the task instance upstream_failed; it
	// never runs.
	DecisionUpstreamFailed Decision = "upstream_failed"
	// DecisionRemoved marks the task instance removed. Airflow returns it
	// only for mapped task instances beyond their upstream's length;
	// EvaluateTriggerRule, which sees unmapped tasks, never does.
	DecisionRemoved Decision = "removed"
)

// UpstreamCounts counts the states of a task instance's direct upstream
// task instances, the only input of a trigger rule.
type UpstreamCounts struct {
	// Total is the number of direct upstream task instances (Airflow's N).
	Total int
	// Success, Skipped, Failed, UpstreamFailed and Removed count the
	// upstream task instances in each finished state.
	Success, Skipped, Failed, UpstreamFailed, Removed int
	// Done is the number of finished upstream task instances: the sum of
	// the five counters above.
	Done int
	// Setups counts the direct upstream task instances of setup tasks, and
	// SuccessSetups and SkippedSetups those of them that succeeded or were
	// skipped (they count in the counters above too). Only the teardown
	// rule all_done_setup_success reads them.
	Setups, SuccessSetups, SkippedSetups int
}

// CountUpstream counts the given upstream states. A state that is not
// finished (none, scheduled, running, up_for_retry, ...) counts only in Total.
func CountUpstream(states []dags.TaskState) UpstreamCounts {
	var c UpstreamCounts
	for _, s := range states {
		c.add(s)
	}
	return c
}

// addSetup counts one upstream state of a setup task.
func (c *UpstreamCounts) addSetup(s dags.TaskState) {
	c.Setups++
	switch s {
	case dags.TaskStateSuccess:
		c.SuccessSetups++
	case dags.TaskStateSkipped:
		c.SkippedSetups++
	}
	c.add(s)
}

// add counts one upstream state.
func (c *UpstreamCounts) add(s dags.TaskState) {
	c.Total++
	switch s {
	case dags.TaskStateSuccess:
		c.Success++
	case dags.TaskStateSkipped:
		c.Skipped++
	case dags.TaskStateFailed:
		c.Failed++
	case dags.TaskStateUpstreamFailed:
		c.UpstreamFailed++
	case dags.TaskStateRemoved:
		c.Removed++
	default:
		return
	}
	c.Done++
}

// EvaluateTriggerRule decides what happens to a task instance whose direct
// upstream task instances are counted by c, exactly as Airflow's
// TriggerRuleDep does when the scheduler evaluates it (flag_upstream_failed):
// step A may decide skipped or upstream_failed eagerly, before every upstream
// has finished; step B then says whether the task may run; otherwise it
// waits.
//
// The teardown rule all_done_setup_success waits for every upstream task,
// then runs when there is no upstream setup or one succeeded; when every
// upstream setup was skipped it is skipped, when none succeeded it is
// upstream_failed.
//
// A task without upstream tasks always runs, as does one with the rule
// always. Done is recomputed from the five state counters, so a hand-built
// UpstreamCounts need not fill it. An unknown rule waits forever (the
// loader rejects unknown rules, so a run only meets one through a bug).
func EvaluateTriggerRule(rule dags.TriggerRule, c UpstreamCounts) Decision {
	n := c.Total
	if n == 0 || rule == dags.TriggerAlways {
		return DecisionRun
	}
	s, k, f, u, r := c.Success, c.Skipped, c.Failed, c.UpstreamFailed, c.Removed
	done := s + k + f + u + r
	upstreamDone := done >= n

	// Step A: the states the scheduler writes before the task can run.
	switch rule {
	case dags.TriggerAllSuccess:
		if u > 0 || f > 0 {
			return DecisionUpstreamFailed
		}
		if k > 0 {
			return DecisionSkip
		}
	case dags.TriggerAllFailed:
		if s > 0 || k > 0 {
			return DecisionSkip
		}
	case dags.TriggerOneSuccess:
		if upstreamDone && done == k {
			return DecisionSkip
		}
		if upstreamDone && s == 0 {
			return DecisionUpstreamFailed
		}
	case dags.TriggerOneFailed:
		if upstreamDone && f == 0 && u == 0 {
			return DecisionSkip
		}
	case dags.TriggerOneDone:
		if upstreamDone && f == 0 && s == 0 {
			return DecisionSkip
		}
	case dags.TriggerNoneFailed:
		if u > 0 || f > 0 {
			return DecisionUpstreamFailed
		}
	case dags.TriggerNoneFailedMinOneSuccess:
		if u > 0 || f > 0 {
			return DecisionUpstreamFailed
		}
		if k == n {
			return DecisionSkip
		}
	case dags.TriggerNoneSkipped:
		if k > 0 {
			return DecisionSkip
		}
	case dags.TriggerAllSkipped:
		if s > 0 || f > 0 || u > 0 {
			return DecisionSkip
		}
	case dags.TriggerAllDoneMinOneSuccess:
		if k > 0 {
			return DecisionSkip
		}
		if s+f+u+r >= n-k && s == 0 {
			return DecisionUpstreamFailed
		}
	case dags.TriggerAllDoneSetupSuccess:
		if upstreamDone && c.Setups > 0 && c.SkippedSetups >= c.Setups {
			return DecisionSkip
		}
		if upstreamDone && c.Setups > 0 && c.SuccessSetups == 0 {
			return DecisionUpstreamFailed
		}
	}

	// Step B: does the dependency pass?
	var pass bool
	switch rule {
	case dags.TriggerAllSuccess:
		pass = n-s == 0
	case dags.TriggerAllFailed:
		pass = n-f-u == 0
	case dags.TriggerAllDone:
		pass = upstreamDone
	case dags.TriggerAllDoneSetupSuccess:
		pass = upstreamDone && (c.Setups == 0 || c.SuccessSetups > 0)
	case dags.TriggerAllDoneMinOneSuccess:
		pass = k == 0 && s+f+u+r >= n && s > 0
	case dags.TriggerAllSkipped:
		pass = n-k == 0
	case dags.TriggerOneSuccess:
		pass = s > 0
	case dags.TriggerOneFailed:
		pass = f+u > 0
	case dags.TriggerOneDone:
		pass = s+f > 0
	case dags.TriggerNoneFailed, dags.TriggerNoneFailedMinOneSuccess:
		pass = n-s-k == 0
	case dags.TriggerNoneSkipped:
		pass = upstreamDone && k == 0
	}
	if pass {
		return DecisionRun
	}
	return DecisionWait
}
