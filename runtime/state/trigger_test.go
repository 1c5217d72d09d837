package state

import (
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

// ruleCase is one mix of direct upstream states (letters: S success,
// K skipped, F failed, U upstream_failed, R removed, N none, Q queued,
// X running, Y up_for_retry, D deferred) and the decision Airflow takes.
type ruleCase struct {
	upstream string
	want     Decision
}

const (
	run  = DecisionRun
	wait = DecisionWait
	skip = DecisionSkip
	upf  = DecisionUpstreamFailed
)

func checkRule(t *testing.T, rule dags.TriggerRule, cases []ruleCase) {
	t.Helper()
	t.Parallel()
	for _, tc := range cases {
		name := tc.upstream
		if name == "" {
			name = "no upstream"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := EvaluateTriggerRule(rule, CountUpstream(states(t, tc.upstream)))
			if got != tc.want {
				t.Errorf("%s with upstream %q: got %s, want %s", rule, tc.upstream, got, tc.want)
			}
		})
	}
}

func TestTriggerAllSuccess(t *testing.T) {
	checkRule(t, dags.TriggerAllSuccess, []ruleCase{
		{"", run},
		{"S", run}, {"SS", run}, {"SSS", run},
		{"N", wait}, {"X", wait}, {"SX", wait}, {"SY", wait}, {"SQ", wait}, {"SD", wait},
		// eager: one failure or skip decides without waiting for siblings
		{"F", upf}, {"U", upf}, {"SF", upf}, {"FX", upf}, {"UX", upf}, {"SSU", upf},
		{"K", skip}, {"SK", skip}, {"KX", skip}, {"KN", skip},
		// failure beats skip
		{"FK", upf}, {"KU", upf}, {"KKF", upf}, {"KFX", upf},
		// an unmapped removed upstream never counts as a success
		{"R", wait}, {"SR", wait},
	})
}

func TestTriggerAllFailed(t *testing.T) {
	checkRule(t, dags.TriggerAllFailed, []ruleCase{
		{"", run},
		{"F", run}, {"U", run}, {"FF", run}, {"FU", run}, {"UUF", run},
		{"N", wait}, {"X", wait}, {"FX", wait}, {"UY", wait},
		// eager: any success or skip decides
		{"S", skip}, {"K", skip}, {"FS", skip}, {"SX", skip}, {"KX", skip}, {"FK", skip}, {"UUK", skip},
		{"R", wait}, {"FR", wait},
	})
}

func TestTriggerAllDone(t *testing.T) {
	checkRule(t, dags.TriggerAllDone, []ruleCase{
		{"", run},
		{"S", run}, {"F", run}, {"K", run}, {"U", run}, {"R", run}, {"SFKUR", run}, {"KK", run},
		{"N", wait}, {"X", wait}, {"SX", wait}, {"FY", wait}, {"KQ", wait}, {"SFKUD", wait},
	})
}

func TestTriggerAllDoneMinOneSuccess(t *testing.T) {
	checkRule(t, dags.TriggerAllDoneMinOneSuccess, []ruleCase{
		{"", run},
		{"S", run}, {"SF", run}, {"SU", run}, {"SFU", run}, {"SR", run}, {"SS", run},
		// the code, not the docs: any skipped upstream skips, eagerly
		{"K", skip}, {"SK", skip}, {"KX", skip}, {"FK", skip}, {"SSK", skip},
		// all done without a success
		{"F", upf}, {"U", upf}, {"FU", upf}, {"FR", upf}, {"R", upf},
		{"N", wait}, {"X", wait}, {"SX", wait}, {"FX", wait}, {"UY", wait},
	})
}

func TestTriggerAllSkipped(t *testing.T) {
	checkRule(t, dags.TriggerAllSkipped, []ruleCase{
		{"", run},
		{"K", run}, {"KK", run}, {"KKK", run},
		{"N", wait}, {"X", wait}, {"KX", wait}, {"KY", wait},
		// eager: any success or failure decides
		{"S", skip}, {"F", skip}, {"U", skip}, {"KS", skip}, {"SX", skip}, {"UX", skip}, {"KKF", skip},
		{"R", wait}, {"KR", wait},
	})
}

func TestTriggerOneSuccess(t *testing.T) {
	checkRule(t, dags.TriggerOneSuccess, []ruleCase{
		{"", run},
		// does not wait for the others
		{"S", run}, {"SX", run}, {"XS", run}, {"SN", run}, {"SF", run}, {"SK", run}, {"SU", run},
		{"N", wait}, {"X", wait}, {"FX", wait}, {"KX", wait}, {"FKY", wait}, {"UN", wait},
		// all done and every one skipped
		{"K", skip}, {"KK", skip},
		// all done, no success, not all skipped
		{"F", upf}, {"U", upf}, {"FK", upf}, {"UK", upf}, {"R", upf}, {"KR", upf},
	})
}

func TestTriggerOneFailed(t *testing.T) {
	checkRule(t, dags.TriggerOneFailed, []ruleCase{
		{"", run},
		{"F", run}, {"U", run}, {"FX", run}, {"UX", run}, {"SF", run}, {"KU", run}, {"NF", run},
		{"N", wait}, {"X", wait}, {"SX", wait}, {"KX", wait}, {"SY", wait},
		// waits until all are done before skipping
		{"S", skip}, {"K", skip}, {"SK", skip}, {"R", skip}, {"SR", skip}, {"SSS", skip},
	})
}

func TestTriggerOneDone(t *testing.T) {
	checkRule(t, dags.TriggerOneDone, []ruleCase{
		{"", run},
		{"S", run}, {"F", run}, {"SX", run}, {"FX", run}, {"SF", run}, {"FK", run}, {"FU", run}, {"KS", run},
		// upstream_failed does not count as done for one_done
		{"U", skip}, {"UU", skip}, {"K", skip}, {"KU", skip}, {"R", skip}, {"KR", skip},
		{"N", wait}, {"X", wait}, {"UX", wait}, {"KX", wait}, {"UKY", wait},
	})
}

func TestTriggerNoneFailed(t *testing.T) {
	checkRule(t, dags.TriggerNoneFailed, []ruleCase{
		{"", run},
		{"S", run}, {"SS", run}, {"SK", run},
		// every upstream skipped still runs
		{"K", run}, {"KK", run},
		{"N", wait}, {"X", wait}, {"SX", wait}, {"KX", wait}, {"KY", wait},
		// eager on failure
		{"F", upf}, {"U", upf}, {"FX", upf}, {"SU", upf}, {"FK", upf}, {"KUN", upf},
		{"R", wait}, {"SR", wait},
	})
}

func TestTriggerNoneFailedMinOneSuccess(t *testing.T) {
	checkRule(t, dags.TriggerNoneFailedMinOneSuccess, []ruleCase{
		{"", run},
		{"S", run}, {"SK", run}, {"SSK", run}, {"KKS", run},
		// every upstream skipped skips (the branch-join rule)
		{"K", skip}, {"KK", skip}, {"KKK", skip},
		// the skip waits for every upstream
		{"N", wait}, {"X", wait}, {"KX", wait}, {"SX", wait}, {"KKY", wait},
		// eager on failure
		{"F", upf}, {"U", upf}, {"FX", upf}, {"UK", upf}, {"SF", upf},
		{"R", wait}, {"KR", wait}, {"SR", wait},
	})
}

func TestTriggerNoneSkipped(t *testing.T) {
	checkRule(t, dags.TriggerNoneSkipped, []ruleCase{
		{"", run},
		{"S", run}, {"SS", run}, {"F", run}, {"U", run}, {"SF", run}, {"SFU", run}, {"R", run},
		{"N", wait}, {"X", wait}, {"SX", wait}, {"FX", wait}, {"UY", wait},
		// eager on a skip
		{"K", skip}, {"SK", skip}, {"KX", skip}, {"FKN", skip},
	})
}

func TestTriggerAlways(t *testing.T) {
	checkRule(t, dags.TriggerAlways, []ruleCase{
		{"", run}, {"S", run}, {"K", run}, {"F", run}, {"U", run}, {"R", run},
		{"N", run}, {"X", run}, {"FK", run}, {"KX", run}, {"SFKURNX", run},
	})
}

func TestEveryTriggerRuleHasATable(t *testing.T) {
	t.Parallel()
	// The twelve tests above cover dags.AllTriggerRules; a new rule needs a
	// table of its own.
	if got := len(dags.AllTriggerRules); got != 13 {
		t.Fatalf("dags.AllTriggerRules has %d rules; add a table test for each new one", got)
	}
}

func TestUnknownTriggerRuleWaits(t *testing.T) {
	t.Parallel()
	c := CountUpstream(states(t, "SS"))
	if got := EvaluateTriggerRule("all_good", c); got != DecisionWait {
		t.Errorf("unknown rule: got %s, want wait", got)
	}
}

func TestCountUpstream(t *testing.T) {
	t.Parallel()
	got := CountUpstream(states(t, "SSKFURNXYQD"))
	want := UpstreamCounts{Total: 11, Success: 2, Skipped: 1, Failed: 1, UpstreamFailed: 1, Removed: 1, Done: 6}
	if got != want {
		t.Errorf("CountUpstream: got %+v, want %+v", got, want)
	}
	if got := CountUpstream(nil); got != (UpstreamCounts{}) {
		t.Errorf("CountUpstream(nil): got %+v, want zero", got)
	}
}

func TestEvaluateTriggerRuleRecomputesDone(t *testing.T) {
	t.Parallel()
	// A hand-built count without Done still sees every upstream finished.
	c := UpstreamCounts{Total: 2, Success: 1, Failed: 1}
	if got := EvaluateTriggerRule(dags.TriggerAllDone, c); got != DecisionRun {
		t.Errorf("all_done with Done unset: got %s, want run", got)
	}
}

func BenchmarkEvaluateTriggerRule(b *testing.B) {
	counts := []UpstreamCounts{
		CountUpstream([]dags.TaskState{dags.TaskStateSuccess, dags.TaskStateSuccess, dags.TaskStateRunning}),
		CountUpstream([]dags.TaskState{dags.TaskStateSkipped, dags.TaskStateFailed}),
		CountUpstream([]dags.TaskState{dags.TaskStateSuccess, dags.TaskStateSkipped, dags.TaskStateUpstreamFailed}),
	}
	b.ReportAllocs()
	var sink Decision
	rules := dags.AllTriggerRules
	for i := 0; b.Loop(); i++ {
		sink = EvaluateTriggerRule(rules[i%len(rules)], counts[i%len(counts)])
	}
	_ = sink
}
