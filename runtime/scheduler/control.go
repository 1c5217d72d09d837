package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

// casAttempts bounds how often a user action re-reads and retries the
// compare-and-set transitions it lost to a concurrent change.
const casAttempts = 5

// ClearParams selects the task instances Clear resets, as `airflow tasks
// clear` does.
type ClearParams struct {
	DAGID string
	// TaskRegex selects tasks whose id it matches anywhere (as Python's
	// re.search); empty selects every task.
	TaskRegex string
	// StartDate and EndDate bound the runs' logical dates, both included;
	// a zero value leaves that side open.
	StartDate, EndDate time.Time
	// OnlyFailed keeps only failed and upstream_failed task instances.
	OnlyFailed bool
	// Downstream and Upstream add every task downstream or upstream of
	// the selected ones (in the DAG version each run is pinned to).
	Downstream, Upstream bool
	// RunID, when set, narrows the selection to that one run.
	RunID string
	// MapIndexes, when set, narrows the task instances of the tasks
	// TaskRegex matches to these map indexes (one mapped task instance, as
	// Airflow's clear of a map index); tasks added by Downstream or
	// Upstream are cleared whole.
	MapIndexes []int
	// DryRun returns what would be cleared without changing anything.
	DryRun bool
}

// Clear resets the selected task instances so that they run again: each
// goes back to none with a full retry budget (MaxTries = TryNumber +
// retries + 1; the next try is TryNumber + 1), without a pending retry
// time and without its XComs. A running instance is reset too: its
// worker's next heartbeat fails with ErrStale and it stops without
// recording. A finished run of a cleared instance goes back to queued (a
// backfill run straight back to running, since only Backfill starts queued
// backfill runs). Every change is a compare-and-set from the state read, so
// a concurrent change is never overwritten; a lost one is read again and
// retried. It returns the keys of the cleared task instances (with DryRun,
// of those it would clear).
//
// With Downstream, a cleared external_task_marker clears its
// external_task_id, with that task's downstream, in the run of its
// external_dag_id that has the same logical date, and so on from the
// markers there, at most the first marker's recursion_depth DAGs deep
// (deeper is an error): Airflow's clear of dependent DAGs.
//
// A scheduler that read a run's task instances just before they were
// cleared may still finish that run from the old states; clear it again.
func (s *Scheduler) Clear(ctx context.Context, p ClearParams) ([]store.TaskInstanceKey, error) {
	re, err := compileTaskRegex(p.TaskRegex)
	if err != nil {
		return nil, err
	}
	runs, err := s.runsToClear(ctx, p)
	if err != nil {
		return nil, err
	}
	sel := taskSelection{match: re, downstream: p.Downstream, upstream: p.Upstream}
	walk := &markerWalk{p: p, visited: map[store.TaskInstanceKey]bool{}}
	var out []store.TaskInstanceKey
	var errs []error
	for _, run := range runs {
		reopen := dags.DagRunStateQueued
		if run.RunType == dags.RunTypeBackfill {
			reopen = dags.DagRunStateRunning
		}
		keys, err := s.clearRun(ctx, run, sel.tasks, mapIndexFilter(re, p.MapIndexes), p.OnlyFailed, p.DryRun, reopen)
		out = append(out, keys...)
		if err != nil {
			errs = append(errs, fmt.Errorf("clear run %s/%s: %w", run.DagID, run.RunID, err))
			continue
		}
		if p.Downstream {
			more, err := s.clearMarked(ctx, walk, run, keys, -1, 0)
			out = append(out, more...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(out) > 0 && !p.DryRun {
		for _, k := range out {
			s.markDirty(k.DagID, k.RunID, dirtyWhole, "")
		}
		s.Wake()
	}
	return out, errors.Join(errs...)
}

// mapIndexFilter keeps, of the tasks re matches (every task when re is
// nil), only the given map indexes; nil when there are none to keep.
func mapIndexFilter(re *regexp.Regexp, indexes []int) func(*store.TaskInstance) bool {
	if len(indexes) == 0 {
		return nil
	}
	return func(r *store.TaskInstance) bool {
		if re != nil && !re.MatchString(r.TaskID) {
			return true
		}
		return slices.Contains(indexes, r.MapIndex)
	}
}

func compileTaskRegex(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: task regex %q: %v", store.ErrInvalid, expr, err)
	}
	return re, nil
}

// runsToClear returns the runs a ClearParams names, oldest first.
func (s *Scheduler) runsToClear(ctx context.Context, p ClearParams) ([]*store.DagRun, error) {
	if p.DAGID == "" {
		return nil, fmt.Errorf("%w: clear needs a DAG id", store.ErrInvalid)
	}
	if !p.StartDate.IsZero() && !p.EndDate.IsZero() && p.StartDate.After(p.EndDate) {
		return nil, fmt.Errorf("%w: start date %s is after end date %s", store.ErrInvalid, p.StartDate.Format(time.RFC3339), p.EndDate.Format(time.RFC3339))
	}
	in := func(t time.Time) bool {
		return (p.StartDate.IsZero() || !t.Before(p.StartDate)) && (p.EndDate.IsZero() || !t.After(p.EndDate))
	}
	if p.RunID != "" {
		run, err := s.Store.RunGet(ctx, p.DAGID, p.RunID)
		if err != nil {
			return nil, err
		}
		if !in(run.LogicalDate) {
			return nil, nil
		}
		return []*store.DagRun{run}, nil
	}
	lp := &store.RunListParams{DagID: p.DAGID, LogicalDateFrom: p.StartDate}
	if !p.EndDate.IsZero() {
		lp.LogicalDateTo = store.Truncate(p.EndDate).Add(time.Microsecond) // inclusive
	}
	runs, err := s.Store.RunList(ctx, lp)
	if err != nil {
		return nil, err
	}
	slices.Reverse(runs)
	return runs, nil
}

// taskSelection picks tasks by id, with their downstream or upstream and,
// as Airflow's clear does, the setups and teardowns the picked tasks need
// (dags.DAG.ClearSelection).
type taskSelection struct {
	match                *regexp.Regexp // nil: every task
	downstream, upstream bool
}

func (ts taskSelection) tasks(d *dags.DAG) map[string]bool {
	var ids []string
	for _, t := range d.Tasks() {
		if ts.match == nil || ts.match.MatchString(t.ID) {
			ids = append(ids, t.ID)
		}
	}
	sel := d.ClearSelection(ids, ts.downstream, ts.upstream)
	out := make(map[string]bool, len(sel))
	for _, id := range sel {
		out[id] = true
	}
	return out
}

func failedState(s dags.TaskState) bool {
	return s == dags.TaskStateFailed || s == dags.TaskStateUpstreamFailed
}

// clearRun resets the task instances of run whose task pick selects (only
// the failed ones when onlyFailed) and, when it reset any, moves the run
// back to reopen if it had finished.
func (s *Scheduler) clearRun(ctx context.Context, run *store.DagRun, pick func(*dags.DAG) map[string]bool, keep func(*store.TaskInstance) bool,
	onlyFailed, dryRun bool, reopen dags.DagRunState) ([]store.TaskInstanceKey, error) {
	d, err := s.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		return nil, err
	}
	ids := pick(d)
	if len(ids) == 0 {
		return nil, nil
	}
	var cleared []store.TaskInstanceKey
	for attempt := 0; attempt < casAttempts; attempt++ {
		rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID})
		if err != nil {
			return cleared, err
		}
		var changes []*store.TaskInstanceSetStateParams
		for _, r := range rows {
			t := d.Task(r.TaskID)
			if !ids[r.TaskID] || t == nil || r.State == dags.TaskStateNone || onlyFailed && !failedState(r.State) || keep != nil && !keep(r) {
				continue
			}
			changes = append(changes, &store.TaskInstanceSetStateParams{Key: r.TaskInstanceKey, From: []dags.TaskState{r.State},
				FromTryNumber: r.TryNumber, To: dags.TaskStateNone, MaxTries: r.TryNumber + t.Retries + 1})
		}
		if dryRun {
			for _, c := range changes {
				cleared = append(cleared, c.Key)
			}
			return cleared, nil
		}
		if len(changes) == 0 {
			break
		}
		applied, err := s.Store.TaskInstancesSetStates(ctx, changes)
		if err != nil {
			return cleared, err
		}
		lost := false
		for i, ok := range applied {
			if !ok {
				lost = true // changed meanwhile: read again and retry
				continue
			}
			cleared = append(cleared, changes[i].Key)
			if _, err := s.Store.XComClear(ctx, changes[i].Key); err != nil {
				return cleared, fmt.Errorf("clear XComs of %s: %w", changes[i].Key, err)
			}
		}
		if !lost {
			break
		}
	}
	if len(cleared) == 0 {
		return nil, nil
	}
	return cleared, s.reopenRun(ctx, run.DagID, run.RunID, reopen)
}

// reopenRun moves a finished run back to queued or running (with a new
// start date, so dagrun_timeout counts from now); a run that has not
// finished is left as it is.
func (s *Scheduler) reopenRun(ctx context.Context, dagID, runID string, to dags.DagRunState) error {
	for attempt := 0; attempt < casAttempts; attempt++ {
		run, err := s.Store.RunGet(ctx, dagID, runID)
		if err != nil {
			return err
		}
		if !run.State.Finished() {
			return nil
		}
		p := &store.RunSetStateParams{DagID: dagID, RunID: runID, From: []dags.DagRunState{run.State}, To: to}
		if to == dags.DagRunStateRunning {
			p.StartDate = time.Now()
		}
		_, err = s.Store.RunSetState(ctx, p)
		if !errors.Is(err, store.ErrStale) {
			return err
		}
	}
	return fmt.Errorf("reopen run %s/%s: it kept changing: %w", dagID, runID, store.ErrStale)
}

// MarkParams names the task whose state MarkState sets.
type MarkParams struct {
	DAGID, RunID, TaskID string
	// State is success or failed.
	State dags.TaskState
	// Downstream marks every task downstream of TaskID as well.
	Downstream bool
	// MapIndexes, when set, marks only these map indexes of TaskID (the
	// tasks downstream are marked whole).
	MapIndexes []int
}

// MarkState sets a task instance (and, with Downstream, every one
// downstream of it) to success or failed, as `airflow tasks mark-success`
// and the UI do; a running instance too, whose worker then stops at its
// next heartbeat. Marking success also clears the failed and
// upstream_failed instances downstream of the marked ones, so they run
// now. A finished run goes back to running and is advanced at once, so the
// downstream tasks continue or the run finishes with its new state. It
// returns the keys of the instances it marked.
func (s *Scheduler) MarkState(ctx context.Context, p MarkParams) ([]store.TaskInstanceKey, error) {
	if p.State != dags.TaskStateSuccess && p.State != dags.TaskStateFailed {
		return nil, fmt.Errorf("%w: a task can be marked success or failed, not %q", store.ErrInvalid, p.State)
	}
	run, err := s.Store.RunGet(ctx, p.DAGID, p.RunID)
	if err != nil {
		return nil, err
	}
	d, err := s.DAGs.DAG(ctx, run.DagID, run.SourceHash)
	if err != nil {
		return nil, err
	}
	if d.Task(p.TaskID) == nil {
		return nil, fmt.Errorf("%w: DAG %s (version of run %s) has no task %q", store.ErrInvalid, p.DAGID, p.RunID, p.TaskID)
	}
	targets := map[string]bool{p.TaskID: true}
	if p.Downstream {
		for _, id := range d.Descendants(p.TaskID) {
			targets[id] = true
		}
	}
	now := time.Now()
	var marked []store.TaskInstanceKey
	for attempt := 0; attempt < casAttempts; attempt++ {
		rows, err := s.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID})
		if err != nil {
			return marked, err
		}
		var changes []*store.TaskInstanceSetStateParams
		for _, r := range rows {
			if len(p.MapIndexes) > 0 && r.TaskID == p.TaskID && !slices.Contains(p.MapIndexes, r.MapIndex) {
				continue
			}
			if targets[r.TaskID] && r.State != p.State {
				changes = append(changes, &store.TaskInstanceSetStateParams{Key: r.TaskInstanceKey, From: []dags.TaskState{r.State},
					FromTryNumber: r.TryNumber, To: p.State, EndDate: now})
			}
		}
		if len(changes) == 0 {
			break
		}
		applied, err := s.Store.TaskInstancesSetStates(ctx, changes)
		if err != nil {
			return marked, err
		}
		lost := false
		for i, ok := range applied {
			if ok {
				marked = append(marked, changes[i].Key)
			} else {
				lost = true
			}
		}
		if !lost {
			break
		}
	}
	changed := len(marked) > 0
	if p.State == dags.TaskStateSuccess {
		// As Airflow's set_task_instance_state: what failed downstream
		// because of the marked tasks runs again.
		ids := make([]string, 0, len(targets))
		for id := range targets {
			ids = append(ids, id)
		}
		after := map[string]bool{}
		for _, id := range d.Descendants(ids...) {
			after[id] = !targets[id]
		}
		pick := func(*dags.DAG) map[string]bool { return after }
		again, err := s.clearRun(ctx, run, pick, nil, true, false, dags.DagRunStateRunning)
		if err != nil {
			return marked, err
		}
		changed = changed || len(again) > 0
	}
	if !changed {
		return nil, nil
	}
	if err := s.reopenRun(ctx, run.DagID, run.RunID, dags.DagRunStateRunning); err != nil {
		return marked, err
	}
	var st TickStats
	if err := s.Advance(ctx, run.DagID, run.RunID, time.Now(), &st); err != nil {
		return marked, fmt.Errorf("advance run %s/%s: %w", run.DagID, run.RunID, err)
	}
	s.markDAGDirty(ctx, run.DagID) // another run may wait on this one (depends_on_past)
	s.Wake()
	return marked, nil
}

// MaxBackfillRuns bounds the runs one backfill may create, so that a
// mistyped range cannot create millions.
const MaxBackfillRuns = 100_000

// DefaultBackfillPoll is how often Backfill looks at its runs when no
// event wakes it.
const DefaultBackfillPoll = time.Second

// BackfillParams describes a backfill: one run per logical date the DAG's
// schedule makes in [Start, End].
type BackfillParams struct {
	DAGID string
	// Start and End bound the logical dates, both included.
	Start, End time.Time
	// ResetRuns clears every task of the existing finished runs in the
	// range and runs them again (each time it is given).
	ResetRuns bool
	// RerunFailedTasks clears the failed and upstream_failed tasks of the
	// existing failed runs in the range and runs them again.
	RerunFailedTasks bool
	// DryRun returns the logical dates without writing anything.
	DryRun bool
	// MaxActiveRuns bounds the runs of the backfill running at once; 0
	// means the DAG's max_active_runs.
	MaxActiveRuns int
	// Conf is the conf of the runs Backfill creates.
	Conf map[string]any
	// Poll is how often the runs are looked at when no event from the
	// Scheduler's Notifier wakes Backfill; 0 means DefaultBackfillPoll.
	Poll time.Duration
}

// BackfillProgress is reported each time a run of a backfill finishes,
// and once at the start.
type BackfillProgress struct {
	// Done counts the finished runs (success or failed), Failed the failed
	// ones among them, Running those running now, of Total.
	Done, Failed, Running, Total int
	// Finished is the run that just finished; nil in the first report.
	Finished *store.DagRun
}

// BackfillResult is what a backfill did.
type BackfillResult struct {
	// Dates are the logical dates of the backfill's runs, oldest first.
	Dates []time.Time
	// Runs are the backfill's runs in the state last seen, oldest first
	// (empty with DryRun).
	Runs []*store.DagRun
	// Created counts the runs this call created; Reset those it cleared to
	// run again (ResetRuns, RerunFailedTasks).
	Created, Reset int
	// Done and Failed count the finished and failed runs.
	Done, Failed int
	// Complete reports that every run finished.
	Complete bool
}

// Backfill runs the DAG over past logical dates, as `airflow dags backfill`:
// it takes the dates the schedule of the DAG's current version makes in
// [Start, End], creates a backfill run (run id "backfill__<date>") for
// each date without a run, keeps existing runs of any type (clearing them
// with ResetRuns or RerunFailedTasks), and then drives the runs: it starts
// queued ones, oldest first, while fewer than MaxActiveRuns of them run,
// advances them and queues their tasks for the workers (DispatchDAG), and
// reports progress each time one finishes, until every run finished or ctx
// ends.
//
// Only Backfill starts queued backfill runs (Tick leaves them), so its
// limit holds; a scheduler daemon may run at the same time, as every
// change is a compare-and-set. A second call over the same range resumes:
// finished runs count as done at once, the others continue. When ctx ends,
// Backfill starts nothing more and returns what was done with ctx's error;
// running tasks are left to the workers.
func (s *Scheduler) Backfill(ctx context.Context, p BackfillParams, progress func(BackfillProgress)) (*BackfillResult, error) {
	if p.DAGID == "" || p.Start.IsZero() || p.End.IsZero() {
		return nil, fmt.Errorf("%w: a backfill needs a DAG id, a start date and an end date", store.ErrInvalid)
	}
	dag, err := s.Store.DAGGet(ctx, p.DAGID)
	if err != nil {
		return nil, err
	}
	d, err := s.DAGs.DAG(ctx, dag.DagID, dag.SourceHash)
	if err != nil {
		return nil, err
	}
	infos, err := d.DagRunsBetween(p.Start, p.End, MaxBackfillRuns)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	res := &BackfillResult{}
	for _, info := range infos {
		res.Dates = append(res.Dates, info.LogicalDate)
	}
	if p.DryRun || len(infos) == 0 {
		res.Complete = !p.DryRun
		return res, nil
	}
	b := &backfill{s: s, p: p, dagID: dag.DagID, from: infos[0].LogicalDate, to: infos[len(infos)-1].LogicalDate, progress: progress, res: res}
	if b.p.MaxActiveRuns <= 0 {
		b.p.MaxActiveRuns = max(d.MaxActiveRuns, 1)
	}
	if b.p.Poll <= 0 {
		b.p.Poll = DefaultBackfillPoll
	}
	if err := b.prepare(ctx, dag.SourceHash, infos); err != nil {
		return res, err
	}
	return res, b.drive(ctx)
}

// backfill is one Backfill call's state.
type backfill struct {
	s        *Scheduler
	p        BackfillParams
	dagID    string
	from, to time.Time // logical dates of the first and last run
	progress func(BackfillProgress)
	res      *BackfillResult
	// runIDs holds the run of each date, by logical date in microseconds;
	// order lists the dates oldest first.
	runIDs map[int64]string
	order  []int64
}

// prepare creates the missing runs and clears the existing ones the
// parameters ask to run again.
func (b *backfill) prepare(ctx context.Context, hash string, infos []dags.DagRunInfo) error {
	existing, err := b.list(ctx)
	if err != nil {
		return err
	}
	b.runIDs = map[int64]string{}
	byDate := map[int64]*store.DagRun{}
	for _, r := range existing {
		k := r.LogicalDate.UnixMicro()
		if cur, ok := byDate[k]; !ok || runPreference(r) < runPreference(cur) {
			byDate[k] = r
		}
	}
	now := time.Now()
	for _, info := range infos {
		k := store.Truncate(info.LogicalDate).UnixMicro()
		b.order = append(b.order, k)
		if r, ok := byDate[k]; ok {
			b.runIDs[k] = r.RunID
			if err := b.rerun(ctx, r); err != nil {
				return err
			}
			continue
		}
		run, err := b.s.CreateRun(ctx, CreateRunParams{DAGID: b.dagID, SourceHash: hash, RunType: dags.RunTypeBackfill,
			Info: info, Conf: b.p.Conf, QueuedAt: now})
		switch {
		case err == nil:
			b.res.Created++
		case errors.Is(err, store.ErrConflict) && run == nil:
			// Another backfill of the same range created it first.
			run = &store.DagRun{RunID: dags.RunID(dags.RunTypeBackfill, info.LogicalDate)}
		case run == nil:
			return fmt.Errorf("create backfill run for %s: %w", info.LogicalDate.Format(time.RFC3339), err)
		default:
			// The run exists, its task instances failed: Advance creates
			// them once the run starts.
			b.s.Logger.Warn("backfill: task instances not created yet", "run", run.RunID, "err", err)
		}
		b.runIDs[k] = run.RunID
	}
	return nil
}

// runPreference orders runs of the same logical date: the one a backfill
// drives is a backfill run if there is one, else a scheduled one, else any.
func runPreference(r *store.DagRun) int {
	switch r.RunType {
	case dags.RunTypeBackfill:
		return 0
	case dags.RunTypeScheduled:
		return 1
	}
	return 2
}

// rerun clears an existing run when ResetRuns or RerunFailedTasks asks for
// it; queued and running runs are left alone.
func (b *backfill) rerun(ctx context.Context, r *store.DagRun) error {
	var onlyFailed bool
	switch {
	case b.p.ResetRuns && r.State.Finished():
	case b.p.RerunFailedTasks && r.State == dags.DagRunStateFailed:
		onlyFailed = true
	default:
		return nil
	}
	all := taskSelection{}
	keys, err := b.s.clearRun(ctx, r, all.tasks, nil, onlyFailed, false, dags.DagRunStateQueued)
	if err != nil {
		return fmt.Errorf("clear run %s: %w", r.RunID, err)
	}
	if len(keys) > 0 {
		b.res.Reset++
	}
	return nil
}

// list returns the DAG's runs in the backfill's range.
func (b *backfill) list(ctx context.Context) ([]*store.DagRun, error) {
	return b.s.Store.RunList(ctx, &store.RunListParams{DagID: b.dagID,
		LogicalDateFrom: b.from, LogicalDateTo: store.Truncate(b.to).Add(time.Microsecond)})
}

// drive starts, advances and dispatches the backfill's runs until all
// finished or ctx ends.
func (b *backfill) drive(ctx context.Context) error {
	var events <-chan queue.Event
	if b.s.Notifier != nil {
		sub, cancel := context.WithCancel(ctx)
		defer cancel()
		if ch, err := b.s.Notifier.Subscribe(sub); err == nil {
			events = ch
		}
	}
	finished := map[string]bool{}
	first := true
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		runs, err := b.current(ctx)
		if err != nil {
			return err
		}
		pr := BackfillProgress{Total: len(b.order)}
		var queued, active, fresh []*store.DagRun
		for _, r := range runs {
			switch {
			case r.State.Finished():
				pr.Done++
				if r.State == dags.DagRunStateFailed {
					pr.Failed++
				}
				if !finished[r.RunID] {
					finished[r.RunID] = true
					fresh = append(fresh, r)
				}
				continue
			case r.State == dags.DagRunStateRunning:
				pr.Running++
				active = append(active, r)
			case r.State == dags.DagRunStateQueued:
				queued = append(queued, r)
			}
			delete(finished, r.RunID) // cleared meanwhile: it will finish again
		}
		b.res.Done, b.res.Failed = pr.Done, pr.Failed
		if b.progress != nil {
			if first {
				b.progress(pr)
			} else {
				// One report per finished run, counting up to now.
				rep := pr
				rep.Done -= len(fresh)
				for _, r := range fresh {
					if r.State == dags.DagRunStateFailed {
						rep.Failed--
					}
				}
				for _, r := range fresh {
					rep.Done++
					if r.State == dags.DagRunStateFailed {
						rep.Failed++
					}
					rep.Finished = r
					b.progress(rep)
				}
			}
		}
		first = false
		if pr.Done == pr.Total {
			b.res.Complete = true
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err // interrupted: start nothing more
		}
		now := time.Now()
		for _, r := range queued {
			if pr.Running >= b.p.MaxActiveRuns {
				break
			}
			_, err := b.s.Store.RunSetState(ctx, &store.RunSetStateParams{DagID: b.dagID, RunID: r.RunID,
				From: []dags.DagRunState{dags.DagRunStateQueued}, To: dags.DagRunStateRunning, StartDate: now})
			switch {
			case err == nil:
				pr.Running++
				active = append(active, r)
				b.s.Logger.Info("backfill: run started", "dag", b.dagID, "run", r.RunID)
			case errors.Is(err, store.ErrStale):
			default:
				return fmt.Errorf("start run %s: %w", r.RunID, err)
			}
		}
		var st TickStats
		for _, r := range active {
			if err := b.s.Advance(ctx, b.dagID, r.RunID, now, &st); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				b.s.Logger.Warn("backfill: advance failed; retrying", "run", r.RunID, "err", err)
			}
		}
		if _, err := b.s.DispatchDAG(ctx, b.dagID, now); err != nil && ctx.Err() == nil {
			b.s.Logger.Warn("backfill: dispatch failed; retrying", "err", err)
		}
		if st.RunsFinished > 0 {
			continue // report it and fill the freed slot at once
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(b.p.Poll)
		select {
		case <-ctx.Done():
		case <-timer.C:
		case _, ok := <-events:
			if !ok {
				events = nil
			}
		}
	}
}

// current returns the backfill's runs as stored now, oldest first, and
// records them in the result.
func (b *backfill) current(ctx context.Context) ([]*store.DagRun, error) {
	all, err := b.list(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*store.DagRun, len(all))
	for _, r := range all {
		byID[r.RunID] = r
	}
	out := make([]*store.DagRun, 0, len(b.order))
	for _, k := range b.order {
		if r, ok := byID[b.runIDs[k]]; ok {
			out = append(out, r)
		}
	}
	b.res.Runs = out
	return out, nil
}

// DispatchDAG is Dispatch for one DAG's task instances. A process that
// brings its own in-process queue for one DAG (a backfill) uses it, so it
// never takes other DAGs' tasks that would be lost with its queue when it
// exits.
func (s *Scheduler) DispatchDAG(ctx context.Context, dagID string, now time.Time) (int, error) {
	pools, err := s.Store.PoolList(ctx)
	if err != nil {
		return 0, err
	}
	used := 0
	for _, p := range pools {
		used += p.RunningSlots + p.QueuedSlots
	}
	left := s.Config.Parallelism - used
	queued := 0
	var errs []error
	for _, p := range pools {
		open := p.OpenSlots()
		if p.Slots < 0 {
			open = left
		}
		n := min(open, left)
		if n <= 0 {
			continue
		}
		claimed, err := s.Store.TaskInstanceClaim(ctx, &store.TaskInstanceClaimParams{Limit: n, Pool: p.Name, DagID: dagID, QueuedAt: now})
		if err != nil {
			errs = append(errs, fmt.Errorf("claim in pool %s: %w", p.Name, err))
			continue
		}
		if len(claimed) == 0 {
			continue
		}
		if err := s.enqueue(ctx, claimed); err != nil {
			errs = append(errs, err)
			continue
		}
		queued += len(claimed)
		left -= len(claimed)
	}
	return queued, errors.Join(errs...)
}

// Unclaim returns to scheduled the task instances of messages that will
// never be delivered, such as those left in an in-process queue that is
// about to be dropped, so that a later dispatch queues them again. A
// message whose task instance moved on meanwhile is ignored. It returns
// how many went back.
func (s *Scheduler) Unclaim(ctx context.Context, msgs []queue.Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	back := make([]*store.TaskInstanceSetStateParams, 0, len(msgs))
	for _, m := range msgs {
		back = append(back, &store.TaskInstanceSetStateParams{
			Key:  store.TaskInstanceKey{DagID: m.DAGID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex},
			From: []dags.TaskState{dags.TaskStateQueued}, FromTryNumber: m.TryNumber, To: dags.TaskStateScheduled})
	}
	applied, err := s.Store.TaskInstancesSetStates(ctx, back)
	if err != nil {
		return 0, fmt.Errorf("return undelivered task instances to scheduled: %w", err)
	}
	n := 0
	for _, ok := range applied {
		if ok {
			n++
		}
	}
	return n, nil
}
