package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// SLACallbacks runs a DAG's sla_miss_callback. The scheduler calls it
// once per recorded miss when its Callbacks implement it.
type SLACallbacks interface {
	SLAMissed(ctx context.Context, run *store.DagRun, ti *store.TaskInstance, miss *store.SLAMiss)
}

// slaState is what the SLA check remembers between ticks.
type slaState struct {
	mu sync.Mutex
	// noSLA holds the DAG versions ("dag_id\x00source hash") without any
	// task sla: their runs cost nothing after the first look.
	noSLA map[string]bool
	// settled holds, per running run, the tasks whose SLA is decided
	// (missed and recorded, or done in time), so a run is read again only
	// while one of its deadlines is due and undecided.
	settled map[[2]string]map[string]bool
}

// checkSLAs records the SLA misses of queued and running scheduled runs:
// a task with an sla whose instance has not succeeded (or been skipped)
// by the run's data_interval_end + sla, or succeeded after it. Each miss
// is recorded once in the store, and the DAG's sla_miss_callback runs for
// the scheduler that recorded it.
//
// Its cost per tick is one query for those runs; a DAG version without
// any sla is remembered and costs nothing more, and a run is read again
// only while one of its deadlines is due and undecided.
func (s *Scheduler) checkSLAs(ctx context.Context, now time.Time, _ *TickStats) error {
	s.sla.mu.Lock()
	defer s.sla.mu.Unlock()
	if s.sla.noSLA == nil || len(s.sla.noSLA) > 10000 {
		s.sla.noSLA = map[string]bool{}
	}
	runs, err := s.Store.RunList(ctx, &store.RunListParams{States: []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning},
		RunTypes: []dags.RunType{dags.RunTypeScheduled}})
	if err != nil {
		return err
	}
	settled := make(map[[2]string]map[string]bool, len(s.sla.settled))
	var errs []error
	for _, run := range runs {
		version := run.DagID + "\x00" + run.SourceHash
		if s.sla.noSLA[version] || run.DataIntervalEnd.IsZero() {
			continue
		}
		d, err := s.DAGs.DAG(ctx, run.DagID, run.SourceHash)
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s/%s: %w", run.DagID, run.RunID, err))
			continue
		}
		rk := [2]string{run.DagID, run.RunID}
		done := s.sla.settled[rk]
		if done == nil {
			done = map[string]bool{}
		}
		settled[rk] = done
		var due []*dags.Task
		hasSLA := false
		for _, t := range d.Tasks() {
			if t.SLA <= 0 {
				continue
			}
			hasSLA = true
			if !done[t.ID] && !now.Before(run.DataIntervalEnd.Add(t.SLA)) {
				due = append(due, t)
			}
		}
		if !hasSLA {
			s.sla.noSLA[version] = true
			delete(settled, rk)
			continue
		}
		if len(due) == 0 {
			continue
		}
		if err := s.recordMisses(ctx, run, d, due, done, now); err != nil {
			errs = append(errs, fmt.Errorf("run %s/%s: %w", run.DagID, run.RunID, err))
		}
	}
	s.sla.settled = settled // forgets the runs that are no longer running
	return errors.Join(errs...)
}

// recordMisses reads the task instances of run and records a miss for
// each due task that has not succeeded; done learns the decided tasks.
func (s *Scheduler) recordMisses(ctx context.Context, run *store.DagRun, d *dags.DAG, due []*dags.Task, done map[string]bool, now time.Time) error {
	rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID})
	if err != nil {
		return err
	}
	byID := make(map[string]*store.TaskInstance, len(rows))
	for _, r := range rows {
		if r.MapIndex == store.NoMapIndex {
			byID[r.TaskID] = r
		}
	}
	cb, _ := s.Callbacks.(SLACallbacks)
	var errs []error
	for _, t := range due {
		ti := byID[t.ID]
		if ti == nil {
			continue // not created yet; the next check sees it
		}
		deadline := run.DataIntervalEnd.Add(t.SLA)
		inTime := ti.State == dags.TaskStateSuccess && !ti.EndDate.After(deadline)
		if inTime || ti.State == dags.TaskStateSkipped {
			done[t.ID] = true
			continue
		}
		miss := &store.SLAMissRecordParams{DagID: run.DagID, RunID: run.RunID, TaskID: t.ID, LogicalDate: run.LogicalDate,
			Deadline: deadline, State: ti.State, RecordedAt: now}
		created, err := s.Store.SLAMissRecord(ctx, miss)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done[t.ID] = true
		if !created {
			continue // another scheduler recorded it and ran the callback
		}
		s.Logger.Warn("SLA missed", "dag", run.DagID, "run", run.RunID, "task", t.ID,
			"deadline", miss.Deadline, "state", ti.State)
		if cb != nil && len(d.Callbacks.OnSLAMiss) > 0 {
			cb.SLAMissed(ctx, run, ti, &store.SLAMiss{DagID: miss.DagID, RunID: miss.RunID, TaskID: miss.TaskID,
				LogicalDate: miss.LogicalDate, Deadline: miss.Deadline, State: miss.State, RecordedAt: miss.RecordedAt})
		}
	}
	return errors.Join(errs...)
}
