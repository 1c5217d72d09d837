package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// CreateRunParams describes a run to create.
type CreateRunParams struct {
	DAGID      string
	SourceHash string
	RunType    dags.RunType
	// RunID defaults to "<run type>__<logical date>".
	RunID    string
	Info     dags.DagRunInfo
	Conf     map[string]any
	QueuedAt time.Time
}

// CreateRun creates a queued run pinned to a DAG version, with all its task
// instances. The run and its task instances are two writes; if the process
// dies between them, Advance creates the missing task instances later.
// A run that exists already is an error wrapping store.ErrConflict.
func (s *Scheduler) CreateRun(ctx context.Context, p CreateRunParams) (*store.DagRun, error) {
	d, err := s.DAGs.DAG(ctx, p.DAGID, p.SourceHash)
	if err != nil {
		return nil, fmt.Errorf("create run of %s: %w", p.DAGID, err)
	}
	runID := p.RunID
	if runID == "" {
		runID = dags.RunID(p.RunType, p.Info.LogicalDate)
	}
	run, err := s.Store.RunCreate(ctx, &store.RunCreateParams{
		DagID:             p.DAGID,
		RunID:             runID,
		RunType:           p.RunType,
		State:             dags.DagRunStateQueued,
		LogicalDate:       p.Info.LogicalDate,
		DataIntervalStart: p.Info.DataIntervalStart,
		DataIntervalEnd:   p.Info.DataIntervalEnd,
		Conf:              p.Conf,
		SourceHash:        p.SourceHash,
		QueuedAt:          p.QueuedAt,
	})
	if err != nil {
		return nil, err
	}
	// Tasks whose start_date/end_date leave this run out get no task
	// instance, as in Airflow.
	d = d.ForRun(run.LogicalDate, run.RunType == dags.RunTypeBackfill)
	if err := s.createTaskInstances(ctx, d, run.DagID, run.RunID); err != nil {
		return run, err
	}
	return run, nil
}

// createTaskInstances creates the task instances of a run; existing ones
// are left alone, so it is safe to call again.
func (s *Scheduler) createTaskInstances(ctx context.Context, d *dags.DAG, dagID, runID string) error {
	weights := d.PriorityWeights()
	tis := make([]store.TaskInstanceCreate, 0, d.Len())
	for _, t := range d.Tasks() {
		tis = append(tis, store.TaskInstanceCreate{
			TaskID:         t.ID,
			MapIndex:       store.NoMapIndex,
			MaxTries:       t.Retries + 1,
			Pool:           t.Pool,
			PoolSlots:      t.PoolSlots,
			PriorityWeight: weights[t.ID],
			Queue:          t.Queue,
			Operator:       t.Operator,
		})
	}
	if _, err := s.Store.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: dagID, RunID: runID, Tasks: tis}); err != nil {
		return fmt.Errorf("create task instances of %s/%s: %w", dagID, runID, err)
	}
	return nil
}

// TriggerParams describes a manual run.
type TriggerParams struct {
	DAGID string
	// LogicalDate defaults to now.
	LogicalDate time.Time
	RunID       string
	Conf        map[string]any
}

// Trigger creates a manual run of the DAG's current version, as `starflow
// dags trigger` and the UI do. A paused DAG's run stays queued until the
// DAG is unpaused.
func (s *Scheduler) Trigger(ctx context.Context, p TriggerParams, now time.Time) (*store.DagRun, error) {
	dag, err := s.Store.DAGGet(ctx, p.DAGID)
	if err != nil {
		return nil, err
	}
	d, err := s.DAGs.DAG(ctx, dag.DagID, dag.SourceHash)
	if err != nil {
		return nil, err
	}
	// Params declared with Param(...) are checked against the conf here,
	// for every way a run is triggered (CLI, API, UI, trigger_dag), as
	// Airflow checks them before creating the run.
	if _, err := d.ResolveParams(p.Conf); err != nil {
		return nil, &ParamsError{Err: err}
	}
	logical := p.LogicalDate
	if logical.IsZero() {
		logical = now
	}
	logical = store.Truncate(logical)
	interval := d.ManualDataInterval(logical)
	run, err := s.CreateRun(ctx, CreateRunParams{
		DAGID:      dag.DagID,
		SourceHash: dag.SourceHash,
		RunType:    dags.RunTypeManual,
		RunID:      p.RunID,
		Info:       dags.DagRunInfo{LogicalDate: logical, DataIntervalStart: interval.Start, DataIntervalEnd: interval.End, RunAfter: now},
		Conf:       p.Conf,
		QueuedAt:   now,
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return run, nil
}

// createDueRuns creates the scheduled runs whose data interval has ended,
// for every unpaused DAG whose next run is due, and plans the next one.
func (s *Scheduler) createDueRuns(ctx context.Context, now time.Time, st *TickStats) error {
	paused, active := false, true
	due, err := s.Store.DAGList(ctx, &store.DAGListParams{Paused: &paused, Active: &active, DueBefore: now})
	if err != nil {
		return err
	}
	var errs []error
	for _, dag := range due {
		n, err := s.createRunsOf(ctx, dag, now)
		st.RunsCreated += n
		if err != nil {
			errs = append(errs, fmt.Errorf("DAG %s: %w", dag.DagID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) createRunsOf(ctx context.Context, dag *store.DAG, now time.Time) (int, error) {
	d, err := s.DAGs.DAG(ctx, dag.DagID, dag.SourceHash)
	if err != nil {
		return 0, err
	}
	next := dag.Next
	created := 0
	for !next.CreateAfter.IsZero() && !next.CreateAfter.After(now) && created < s.Config.MaxRunsPerDAGPerTick {
		info := dags.DagRunInfo{LogicalDate: next.LogicalDate, DataIntervalStart: next.DataIntervalStart, DataIntervalEnd: next.DataIntervalEnd, RunAfter: next.CreateAfter}
		_, err := s.CreateRun(ctx, CreateRunParams{DAGID: dag.DagID, SourceHash: dag.SourceHash, RunType: dags.RunTypeScheduled, Info: info, QueuedAt: now})
		switch {
		case err == nil:
			created++
		case errors.Is(err, store.ErrConflict):
			// Another scheduler created it first, or a manual/backfill run
			// holds the date: either way the interval is covered.
		default:
			return created, err
		}
		following, ok := d.NextDagRun(&dags.DataInterval{Start: info.DataIntervalStart, End: info.DataIntervalEnd}, now)
		next = store.NextRun{}
		if ok {
			next = store.NextRun{LogicalDate: following.LogicalDate, DataIntervalStart: following.DataIntervalStart, DataIntervalEnd: following.DataIntervalEnd, CreateAfter: following.RunAfter}
		}
	}
	if next != dag.Next {
		if err := s.Store.DAGSetNextRun(ctx, &store.DAGSetNextRunParams{DagID: dag.DagID, Next: next}); err != nil {
			return created, err
		}
	}
	return created, nil
}

// startQueuedRuns moves queued runs of unpaused DAGs to running, oldest
// logical date first, while the DAG has fewer than max_active_runs running.
// Queued backfill runs are left to Backfill, which starts them within its
// own limit (BackfillParams.MaxActiveRuns).
func (s *Scheduler) startQueuedRuns(ctx context.Context, now time.Time, st *TickStats) error {
	queued, err := s.Store.RunCount(ctx, &store.RunCountParams{States: []dags.DagRunState{dags.DagRunStateQueued}})
	if err != nil || len(queued) == 0 {
		return err
	}
	running, err := s.Store.RunCount(ctx, &store.RunCountParams{States: []dags.DagRunState{dags.DagRunStateRunning}})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(queued))
	for id := range queued {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		dag, err := s.Store.DAGGet(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		room := max(dag.MaxActiveRuns, 1) - running[id]
		if dag.IsPaused || room <= 0 {
			continue
		}
		// Only as many of the oldest queued runs as may start; backfill
		// runs are started by Backfill only.
		runs, err := s.Store.RunList(ctx, &store.RunListParams{DagID: id, States: []dags.DagRunState{dags.DagRunStateQueued},
			RunTypes: []dags.RunType{dags.RunTypeScheduled, dags.RunTypeManual, dags.RunTypeDatasetTriggered}, OldestFirst: true, Limit: room})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, run := range runs {
			_, err := s.Store.RunSetState(ctx, &store.RunSetStateParams{DagID: run.DagID, RunID: run.RunID,
				From: []dags.DagRunState{dags.DagRunStateQueued}, To: dags.DagRunStateRunning, StartDate: now})
			switch {
			case err == nil:
				st.RunsStarted++
				s.markDirty(run.DagID, run.RunID, dirtyWhole, "")
			case errors.Is(err, store.ErrStale):
			default:
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// ParamsError is a trigger refused because the conf does not satisfy the
// DAG's params; its message is the one line dags.DAG.ResolveParams gives
// ("Invalid input for param x: ..."), and it is a store.ErrInvalid, so
// the API and the UI answer 400.
type ParamsError struct{ Err error }

func (e *ParamsError) Error() string { return e.Err.Error() }

// Is makes a ParamsError match store.ErrInvalid.
func (e *ParamsError) Is(target error) bool { return target == store.ErrInvalid }

// Unwrap returns the validation error.
func (e *ParamsError) Unwrap() error { return e.Err }
