package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testSLAMisses checks that a miss is recorded once (also when several
// schedulers race), listed latest deadline first with its fields, filtered
// by DAG and run.
func testSLAMisses(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	r1 := mustRun(t, s, "sla", "r1", 0)
	r2 := mustRun(t, s, "sla", "r2", 1)
	mustRun(t, s, "other", "o1", 0)
	miss := func(runID, taskID string, run *store.DagRun, late time.Duration) *store.SLAMissRecordParams {
		return &store.SLAMissRecordParams{DagID: run.DagID, RunID: runID, TaskID: taskID, LogicalDate: run.LogicalDate,
			Deadline: run.DataIntervalEnd.Add(late), State: dags.TaskStateRunning, RecordedAt: run.DataIntervalEnd.Add(late + time.Second)}
	}
	created, err := s.SLAMissRecord(ctx, miss("r1", "slow", r1, time.Hour))
	if err != nil || !created {
		t.Fatalf("first record: created %v, err %v", created, err)
	}
	again := miss("r1", "slow", r1, 2*time.Hour)
	again.State = dags.TaskStateFailed
	if created, err := s.SLAMissRecord(ctx, again); err != nil || created {
		t.Errorf("second record of the same task instance: created %v, err %v; want false, nil", created, err)
	}

	// Four schedulers race for one miss: exactly one creates it.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := s.SLAMissRecord(ctx, miss("r2", "slow", r2, time.Hour)); err != nil {
				t.Errorf("concurrent record: %v", err)
			} else if c {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent records created the miss, want 1", wins.Load())
	}
	if _, err := s.SLAMissRecord(ctx, miss("r2", "other_task", r2, 30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	o := mustRun(t, s, "other", "o2", 5)
	if _, err := s.SLAMissRecord(ctx, miss("o2", "x", o, time.Minute)); err != nil {
		t.Fatal(err)
	}

	list, err := s.SLAMissList(ctx, &store.SLAMissListParams{DagID: "sla"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range list {
		got = append(got, m.RunID+"/"+m.TaskID)
	}
	if want := "r2/slow r2/other_task r1/slow"; join(got) != want {
		t.Errorf("misses of sla = %q, want %q (latest deadline first)", join(got), want)
	}
	first := list[len(list)-1]
	if first.State != dags.TaskStateRunning || !first.Deadline.Equal(r1.DataIntervalEnd.Add(time.Hour)) ||
		!first.LogicalDate.Equal(r1.LogicalDate) || !first.RecordedAt.Equal(r1.DataIntervalEnd.Add(time.Hour+time.Second)) {
		t.Errorf("miss r1/slow = %+v; the first record's fields must be kept", first)
	}
	if l, _ := s.SLAMissList(ctx, &store.SLAMissListParams{DagID: "sla", RunID: "r2", Limit: 1}); len(l) != 1 || l[0].TaskID != "slow" {
		t.Errorf("run filter with limit 1 = %+v", l)
	}
	if l, _ := s.SLAMissList(ctx, nil); len(l) != 4 {
		t.Errorf("all misses: %d, want 4", len(l))
	}
	if _, err := s.SLAMissRecord(ctx, &store.SLAMissRecordParams{DagID: "sla", RunID: "r1"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a miss without task or deadline: err %v, want ErrInvalid", err)
	}
}

func join(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
