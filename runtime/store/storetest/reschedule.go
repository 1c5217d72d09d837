package storetest

import (
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testReschedule follows a sensor in reschedule mode: up_for_reschedule
// counts in RescheduleCount, keeps the try number, and the try's first
// start date survives the moves back to running; a new try number or a
// clear resets both.
func testReschedule(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateNone, "wait")
	k := key("etl", "r", "wait")
	step := func(p store.TaskInstanceSetStateParams) *store.TaskInstance {
		t.Helper()
		p.Key = k
		ti, err := s.TaskInstanceSetState(ctx, &p)
		if err != nil {
			t.Fatalf("%v → %s: %v", p.From, p.To, err)
		}
		return ti
	}
	none, sched, queued, running := dags.TaskStateNone, dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning
	resched := dags.TaskStateUpForReschedule
	start := base.Add(time.Second)
	// One run of the try: scheduled → queued → running from → to.
	runOnce := func(from dags.TaskState, try int, startAt time.Time) *store.TaskInstance {
		t.Helper()
		p := store.TaskInstanceSetStateParams{From: []dags.TaskState{from}, To: sched}
		if from == none {
			p.TryNumber = try
		}
		step(p)
		step(store.TaskInstanceSetStateParams{From: []dags.TaskState{sched}, To: queued})
		return step(store.TaskInstanceSetStateParams{From: []dags.TaskState{queued}, FromTryNumber: try, To: running, StartDate: startAt})
	}
	ti := runOnce(none, 1, start)
	if ti.RescheduleCount != 0 || !ti.StartDate.Equal(store.Truncate(start)) {
		t.Fatalf("first run: %+v", ti)
	}
	for i := 1; i <= 2; i++ {
		end := start.Add(time.Duration(i) * time.Minute)
		at := end.Add(time.Minute)
		ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{running}, FromTryNumber: 1, To: resched, EndDate: end, NextRetryAt: at})
		if ti.RescheduleCount != i || ti.TryNumber != 1 || !ti.NextRetryAt.Equal(store.Truncate(at)) ||
			ti.Duration != store.Truncate(end).Sub(store.Truncate(start)) {
			t.Errorf("reschedule %d: %+v (duration %s)", i, ti, ti.Duration)
		}
		ti = runOnce(resched, 1, at)
		if ti.RescheduleCount != i || ti.TryNumber != 1 || !ti.StartDate.Equal(store.Truncate(start)) || !ti.NextRetryAt.IsZero() ||
			!ti.HeartbeatAt.Equal(store.Truncate(at)) {
			t.Errorf("run %d after a reschedule: %+v; want the first start date %s kept", i+1, ti, store.Truncate(start))
		}
	}
	// A try that ends keeps its count; a retry (a new try number) resets it.
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{running}, To: dags.TaskStateUpForRetry, EndDate: start.Add(time.Hour)})
	if ti.RescheduleCount != 2 {
		t.Errorf("up_for_retry: %+v", ti)
	}
	step(store.TaskInstanceSetStateParams{From: []dags.TaskState{dags.TaskStateUpForRetry}, To: sched, TryNumber: 2})
	step(store.TaskInstanceSetStateParams{From: []dags.TaskState{sched}, To: queued})
	start2 := start.Add(2 * time.Hour)
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{queued}, To: running, StartDate: start2})
	if ti.RescheduleCount != 0 || ti.TryNumber != 2 || !ti.StartDate.Equal(store.Truncate(start2)) {
		t.Errorf("second try: %+v; want a fresh start and count", ti)
	}
	// A clear resets the count too.
	step(store.TaskInstanceSetStateParams{From: []dags.TaskState{running}, To: resched, NextRetryAt: start2})
	ti = step(store.TaskInstanceSetStateParams{From: []dags.TaskState{resched}, To: none})
	if ti.RescheduleCount != 0 {
		t.Errorf("cleared: %+v", ti)
	}
	// A batch applies the same rules.
	applied, err := s.TaskInstancesSetStates(ctx, []*store.TaskInstanceSetStateParams{{Key: k, From: []dags.TaskState{none}, To: resched}})
	if err != nil || !applied[0] || mustTI(t, s, k).RescheduleCount != 1 {
		t.Errorf("batch: %v, %v, %+v", applied, err, mustTI(t, s, k))
	}
}
