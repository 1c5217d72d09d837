package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// Recorder writes an in-process run to a metadata store as it happens, so
// that `starflow test-dag` leaves the same records a scheduled run would:
// the DAG and its source version, the run, every task instance's state
// changes, the XComs and the task logs. State changes are written in
// batches by a background goroutine, so recording does not slow the run.
type Recorder struct {
	// Logs, when set, receives the run's task logs at Close (copied
	// there, or only indexed when the run already wrote them in it).
	Logs *tasklog.Folder

	store store.Store
	dag   *dags.DAG
	info  operators.RunInfo

	mu      sync.Mutex
	pending []any // *store.TaskInstanceSetStateParams or *store.TaskInstanceExpandParams
	wake    chan struct{}
	done    chan struct{}
	err     error
}

// RecordSource is the source a recorded run is pinned to.
type RecordSource struct {
	EntryFile string
	Files     map[string]string
}

// NewRecorder records the DAG, its source version and a new manual run
// with all its task instances, then starts the background writer. Pass
// Event as Options.OnChange (or call it from your own) and Close at the end.
func NewRecorder(ctx context.Context, st store.Store, d *dags.DAG, src RecordSource, info operators.RunInfo) (*Recorder, error) {
	if d.SourceHash != "" {
		if err := st.DAGVersionPut(ctx, &store.DAGVersionPutParams{SourceHash: d.SourceHash, EntryFile: src.EntryFile, Files: src.Files}); err != nil {
			return nil, fmt.Errorf("record DAG version: %w", err)
		}
	}
	if _, err := st.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: d.ID, File: d.File, SourceHash: d.SourceHash, Schedule: d.Schedule.String(),
		Description: d.Description, Tags: d.Tags, MaxActiveRuns: d.MaxActiveRuns, MaxActiveTasks: d.MaxActiveTasks}); err != nil {
		return nil, fmt.Errorf("record DAG: %w", err)
	}
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{DagID: d.ID, RunID: info.RunID, RunType: info.RunType, State: dags.DagRunStateRunning,
		LogicalDate: info.LogicalDate, DataIntervalStart: info.DataIntervalStart, DataIntervalEnd: info.DataIntervalEnd,
		Conf: info.Conf, SourceHash: d.SourceHash, StartDate: time.Now()}); err != nil {
		return nil, fmt.Errorf("record run: %w", err)
	}
	weights := d.PriorityWeights()
	tis := make([]store.TaskInstanceCreate, 0, d.Len())
	for _, t := range d.Tasks() {
		tis = append(tis, store.TaskInstanceCreate{TaskID: t.ID, MapIndex: store.NoMapIndex, MaxTries: t.Retries + 1, Pool: t.Pool,
			PoolSlots: t.PoolSlots, PriorityWeight: weights[t.ID], Queue: t.Queue, Operator: t.Operator})
	}
	if _, err := st.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: d.ID, RunID: info.RunID, Tasks: tis}); err != nil {
		return nil, fmt.Errorf("record task instances: %w", err)
	}
	r := &Recorder{store: st, dag: d, info: info, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go r.write(context.WithoutCancel(ctx))
	return r, nil
}

// Event queues one state change for writing.
func (r *Recorder) Event(e Event) {
	key := store.TaskInstanceKey{DagID: r.dag.ID, RunID: r.info.RunID, TaskID: e.TaskID, MapIndex: e.MapIndex}
	if e.Expanded > 0 {
		r.queue(&store.TaskInstanceExpandParams{Key: key, From: []dags.TaskState{dags.TaskStateNone}, Count: e.Expanded})
		return
	}
	p := &store.TaskInstanceSetStateParams{
		Key:         key,
		To:          e.To,
		TryNumber:   e.TryNumber,
		NextRetryAt: time.Time{},
	}
	switch {
	case e.To == dags.TaskStateRunning:
		p.StartDate = e.Time
	case e.To.Finished() || e.To == dags.TaskStateUpForRetry:
		p.EndDate = e.Time
	case e.To == dags.TaskStateUpForReschedule:
		p.EndDate, p.NextRetryAt = e.Time, e.RescheduleAt
	}
	r.queue(p)
}

// queue adds a write (*store.TaskInstanceSetStateParams or
// *store.TaskInstanceExpandParams) to the pending ones.
func (r *Recorder) queue(w any) {
	r.mu.Lock()
	r.pending = append(r.pending, w)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// write flushes queued changes until Close.
func (r *Recorder) write(ctx context.Context) {
	defer close(r.done)
	for {
		_, open := <-r.wake
		if err := r.flush(ctx); err != nil {
			r.mu.Lock()
			r.err = errors.Join(r.err, err)
			r.mu.Unlock()
		}
		if !open {
			return
		}
	}
}

func (r *Recorder) flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	// Consecutive state changes go in one batch; an expansion is written
	// in its place in the order, before the changes of its map indexes.
	var states []*store.TaskInstanceSetStateParams
	writeStates := func() error {
		if len(states) == 0 {
			return nil
		}
		_, err := r.store.TaskInstancesSetStates(ctx, states)
		states = nil
		if err != nil {
			return fmt.Errorf("record task states: %w", err)
		}
		return nil
	}
	for _, w := range batch {
		switch w := w.(type) {
		case *store.TaskInstanceSetStateParams:
			states = append(states, w)
		case *store.TaskInstanceExpandParams:
			if err := writeStates(); err != nil {
				return err
			}
			if err := r.store.TaskInstanceExpand(ctx, w); err != nil {
				return fmt.Errorf("record expansion: %w", err)
			}
		}
	}
	return writeStates()
}

// Discard stops the background writer without writing what is still
// queued or the run's end: for a record about to be deleted (test-dag's
// temporary folder after a run that succeeded).
func (r *Recorder) Discard() {
	r.mu.Lock()
	r.pending = nil
	r.mu.Unlock()
	close(r.wake)
	<-r.done
}

// Close writes what is still queued, the run's final state, its XComs and
// its task logs, and returns the first error met while recording.
func (r *Recorder) Close(ctx context.Context, res *Result) error {
	close(r.wake)
	<-r.done
	var errs []error
	if r.err != nil {
		errs = append(errs, r.err)
	}
	if res == nil {
		return errors.Join(errs...)
	}
	if _, err := r.store.RunSetState(ctx, &store.RunSetStateParams{DagID: r.dag.ID, RunID: r.info.RunID, To: res.State, EndDate: res.End}); err != nil {
		errs = append(errs, fmt.Errorf("record run state: %w", err))
	}
	for _, x := range res.XComs {
		key := store.TaskInstanceKey{DagID: r.dag.ID, RunID: r.info.RunID, TaskID: x.TaskID, MapIndex: x.MapIndex}
		if err := r.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: key, Key: x.Key, Value: x.Value}); err != nil {
			errs = append(errs, fmt.Errorf("record XCom %s of %s: %w", x.Key, x.TaskID, err))
		}
	}
	for _, e := range res.DatasetEvents {
		if _, err := r.store.DatasetEventsCreate(ctx, &store.DatasetEventsCreateParams{Timestamp: e.Time, Events: []store.DatasetEventCreate{{
			URI: e.URI, SourceDagID: r.dag.ID, SourceRunID: r.info.RunID, SourceTaskID: e.TaskID, SourceMapIndex: e.MapIndex, Extra: e.Extra}}}); err != nil {
			errs = append(errs, fmt.Errorf("record dataset event %s of %s: %w", e.URI, e.TaskID, err))
		}
	}
	for _, t := range res.Tasks {
		if t.LogPath == "" || r.Logs == nil {
			continue
		}
		key := store.TaskInstanceKey{DagID: r.dag.ID, RunID: r.info.RunID, TaskID: t.TaskID, MapIndex: t.MapIndex}
		for try := 1; try <= t.TryNumber; try++ {
			if err := r.recordLog(ctx, key, try, filepath.Join(filepath.Dir(t.LogPath), fmt.Sprintf("attempt=%d.log", try))); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// recordLog copies one try's log file into the log folder, or only
// indexes it when it is already there; a try that wrote nothing has no
// file and nothing to record.
func (r *Recorder) recordLog(ctx context.Context, key store.TaskInstanceKey, try int, path string) error {
	src, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // the try wrote nothing, so it has no log file
	}
	if err != nil {
		return fmt.Errorf("read log of %s try %d: %w", key.TaskID, try, err)
	}
	defer src.Close()
	if r.Logs.Contains(path, key, try) {
		fi, err := src.Stat()
		if err != nil {
			return fmt.Errorf("read log of %s try %d: %w", key.TaskID, try, err)
		}
		if err := r.store.TaskLogFileSet(ctx, &store.TaskLogFile{Key: key, TryNumber: try, Path: tasklog.RelPath(key, try),
			Hostname: r.Logs.Hostname, Size: fi.Size()}); err != nil {
			return fmt.Errorf("record log of %s try %d: %w", key.TaskID, try, err)
		}
		return nil
	}
	dst, err := r.Logs.Create(ctx, key, try)
	if err != nil {
		return fmt.Errorf("record log of %s try %d: %w", key.TaskID, try, err)
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record log of %s try %d: %w", key.TaskID, try, err)
	}
	return nil
}
