package store

import (
	"fmt"

	"github.com/starflow-dev/starflow/dags"
)

// The methods in this file check parameters and fill in defaults the same
// way for every implementation. Implementations call them first.

// Normalize checks p and fills in defaults.
func (p *DAGUpsertParams) Normalize() error {
	if p.DagID == "" {
		return fmt.Errorf("dag upsert: empty dag_id: %w", ErrInvalid)
	}
	if p.MaxActiveRuns <= 0 {
		p.MaxActiveRuns = dags.DefaultMaxActiveRuns
	}
	if p.MaxActiveTasks <= 0 {
		p.MaxActiveTasks = dags.DefaultMaxActiveTasks
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	p.ParsedAt = TimeOrNow(p.ParsedAt)
	return nil
}

// Normalize checks p.
func (p *DAGVersionPutParams) Normalize() error {
	if p.SourceHash == "" {
		return fmt.Errorf("dag version: empty source hash: %w", ErrInvalid)
	}
	if _, ok := p.Files[p.EntryFile]; !ok {
		return fmt.Errorf("dag version %s: entry file %q is not in the bundle: %w", p.SourceHash, p.EntryFile, ErrInvalid)
	}
	return nil
}

// Normalize checks p and fills in defaults: state queued, queued now.
func (p *RunCreateParams) Normalize() error {
	if p.DagID == "" || p.RunID == "" {
		return fmt.Errorf("dag run %q/%q: dag_id and run_id are required: %w", p.DagID, p.RunID, ErrInvalid)
	}
	if err := dags.CheckRunID(p.RunID); err != nil {
		return fmt.Errorf("dag run of %s: %v: %w", p.DagID, err, ErrInvalid)
	}
	switch p.RunType {
	case dags.RunTypeManual, dags.RunTypeScheduled, dags.RunTypeBackfill, dags.RunTypeDatasetTriggered:
	default:
		return fmt.Errorf("dag run %s/%s: unknown run type %q (known: backfill, dataset_triggered, manual, scheduled): %w", p.DagID, p.RunID, p.RunType, ErrInvalid)
	}
	if p.State == "" {
		p.State = dags.DagRunStateQueued
	}
	if !p.State.Valid() {
		return fmt.Errorf("dag run %s/%s: unknown state %q: %w", p.DagID, p.RunID, p.State, ErrInvalid)
	}
	if p.LogicalDate.IsZero() {
		return fmt.Errorf("dag run %s/%s: logical date is required: %w", p.DagID, p.RunID, ErrInvalid)
	}
	p.LogicalDate = Truncate(p.LogicalDate)
	p.DataIntervalStart = Truncate(p.DataIntervalStart)
	p.DataIntervalEnd = Truncate(p.DataIntervalEnd)
	p.QueuedAt = TimeOrNow(p.QueuedAt)
	p.StartDate = Truncate(p.StartDate)
	return nil
}

// EncodeConf returns the run's conf as JSON, checked against MaxConfBytes.
func (p *RunCreateParams) EncodeConf() (string, error) {
	if p.Conf == nil {
		return "{}", nil
	}
	return EncodeJSON(fmt.Sprintf("conf of dag run %s/%s", p.DagID, p.RunID), p.Conf, MaxConfBytes)
}

// Normalize checks p.
func (p *RunSetStateParams) Normalize() error {
	if !p.To.Valid() {
		return fmt.Errorf("dag run %s/%s: unknown state %q: %w", p.DagID, p.RunID, p.To, ErrInvalid)
	}
	for _, f := range p.From {
		if !f.Valid() {
			return fmt.Errorf("dag run %s/%s: unknown state %q: %w", p.DagID, p.RunID, f, ErrInvalid)
		}
	}
	p.StartDate = Truncate(p.StartDate)
	p.EndDate = Truncate(p.EndDate)
	return nil
}

// ActiveStates returns p.States, or queued and running when it is empty.
func (p *RunCountParams) ActiveStates() []dags.DagRunState {
	if len(p.States) == 0 {
		return []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning}
	}
	return p.States
}

// Normalize checks p and fills in each task's defaults: state none, one
// try, the default pool with one slot, the default queue.
func (p *TaskInstancesCreateParams) Normalize() error {
	if p.DagID == "" || p.RunID == "" {
		return fmt.Errorf("task instances: dag_id and run_id are required: %w", ErrInvalid)
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		if t.TaskID == "" {
			return fmt.Errorf("task instances of %s/%s: task %d has no task_id: %w", p.DagID, p.RunID, i, ErrInvalid)
		}
		if t.MapIndex < NoMapIndex {
			return fmt.Errorf("task instance %s/%s/%s: bad map index %d: %w", p.DagID, p.RunID, t.TaskID, t.MapIndex, ErrInvalid)
		}
		if t.State == "" {
			t.State = dags.TaskStateNone
		}
		if !t.State.Valid() {
			return fmt.Errorf("task instance %s/%s/%s: unknown state %q: %w", p.DagID, p.RunID, t.TaskID, t.State, ErrInvalid)
		}
		if t.MaxTries <= 0 {
			t.MaxTries = 1
		}
		if t.Pool == "" {
			t.Pool = DefaultPool
		}
		if t.PoolSlots <= 0 {
			t.PoolSlots = 1
		}
		if t.Queue == "" {
			t.Queue = dags.DefaultQueue
		}
	}
	return nil
}

// Validate checks a task-instance key.
func (k TaskInstanceKey) Validate() error {
	if k.DagID == "" || k.RunID == "" || k.TaskID == "" {
		return fmt.Errorf("task instance %q: dag_id, run_id and task_id are required: %w", k.String(), ErrInvalid)
	}
	if k.MapIndex < NoMapIndex {
		return fmt.Errorf("task instance %s: bad map index %d: %w", k, k.MapIndex, ErrInvalid)
	}
	return nil
}

// Normalize checks p and truncates its times.
func (p *TaskInstanceSetStateParams) Normalize() error {
	if err := p.Key.Validate(); err != nil {
		return err
	}
	if !p.To.Valid() {
		return fmt.Errorf("task instance %s: unknown state %q: %w", p.Key, p.To, ErrInvalid)
	}
	for _, f := range p.From {
		if !f.Valid() {
			return fmt.Errorf("task instance %s: unknown state %q: %w", p.Key, f, ErrInvalid)
		}
	}
	if p.LogFile != nil {
		if err := p.LogFile.Validate(); err != nil {
			return err
		}
		if p.LogFile.Key != p.Key {
			return fmt.Errorf("task instance %s: log file row of %s: %w", p.Key, p.LogFile.Key, ErrInvalid)
		}
	}
	p.QueuedAt = Truncate(p.QueuedAt)
	p.StartDate = Truncate(p.StartDate)
	p.EndDate = Truncate(p.EndDate)
	p.NextRetryAt = Truncate(p.NextRetryAt)
	return nil
}

// Matches reports whether ti already shows the result of p: the check a
// retried transition uses to recognise that its first attempt committed.
func (p *TaskInstanceSetStateParams) Matches(ti *TaskInstance) bool {
	return ti.State == p.To &&
		(p.TryNumber == 0 || ti.TryNumber == p.TryNumber) &&
		(p.Hostname == "" || ti.Hostname == p.Hostname) &&
		(p.PID == 0 || ti.PID == p.PID) &&
		(p.StartDate.IsZero() || ti.StartDate.Equal(p.StartDate) || p.To == dags.TaskStateRunning && ti.RescheduleCount > 0) &&
		(p.EndDate.IsZero() || ti.EndDate.Equal(p.EndDate))
}

// StaleError describes a lost transition of ti.
func (p *TaskInstanceSetStateParams) StaleError(ti *TaskInstance) error {
	want := fmt.Sprint(p.From)
	if p.FromTryNumber > 0 {
		want += fmt.Sprintf(" at try %d", p.FromTryNumber)
	}
	return fmt.Errorf("task instance %s: cannot move to %s: it is %s at try %d, expected %s: %w",
		p.Key, p.To, ti.State, ti.TryNumber, want, ErrStale)
}

// Normalize checks p: the outcome, the log's size and the transitions.
func (p *TaskInstanceEndParams) Normalize() error {
	if err := p.State.Normalize(); err != nil {
		return err
	}
	if len(p.Log) > 0 {
		if p.State.FromTryNumber < 1 {
			return fmt.Errorf("end of %s: a log needs the try number (FromTryNumber): %w", p.State.Key, ErrInvalid)
		}
		lp := TaskLogAppendParams{Key: p.State.Key, TryNumber: p.State.FromTryNumber, Data: p.Log}
		if err := lp.Normalize(); err != nil {
			return err
		}
	}
	if p.LogFile != nil {
		if err := p.LogFile.Validate(); err != nil {
			return err
		}
	}
	for _, t := range p.Then {
		if err := t.Normalize(); err != nil {
			return err
		}
	}
	return nil
}

// Normalize checks p and fills in defaults.
func (p *TaskInstanceClaimParams) Normalize() error {
	if p.Limit <= 0 {
		return fmt.Errorf("claim: limit must be positive, got %d: %w", p.Limit, ErrInvalid)
	}
	p.QueuedAt = TimeOrNow(p.QueuedAt)
	return nil
}

// Normalize checks p.
func (p *TaskLogAppendParams) Normalize() error {
	if err := p.Key.Validate(); err != nil {
		return err
	}
	if len(p.Data) > MaxLogChunkBytes {
		return fmt.Errorf("log of %s try %d: append of %d bytes is over the limit of %s: %w", p.Key, p.TryNumber, len(p.Data), formatBytes(MaxLogChunkBytes), ErrTooLarge)
	}
	return nil
}

// Normalize checks p and fills in the default limit.
func (p *TaskLogReadParams) Normalize() error {
	if err := p.Key.Validate(); err != nil {
		return err
	}
	if p.Offset < 0 {
		return fmt.Errorf("log of %s: negative offset %d: %w", p.Key, p.Offset, ErrInvalid)
	}
	if p.Limit <= 0 || p.Limit > MaxLogChunkBytes {
		p.Limit = MaxLogChunkBytes
	}
	return nil
}

// Encode checks p and returns its value as JSON.
func (p *XComSetParams) Encode() (string, error) {
	if err := p.TaskInstanceKey.Validate(); err != nil {
		return "", err
	}
	if p.Key == "" {
		return "", fmt.Errorf("xcom of %s: empty key: %w", p.TaskInstanceKey, ErrInvalid)
	}
	return EncodeJSON(fmt.Sprintf("xcom %q of %s", p.Key, p.TaskInstanceKey), p.Value, MaxXComBytes)
}

// Normalize checks p.
func (p *VariableSetParams) Normalize() error {
	if p.Key == "" {
		return fmt.Errorf("variable: empty key: %w", ErrInvalid)
	}
	if len(p.Value) > MaxVariableBytes {
		return fmt.Errorf("variable %q is %d bytes, over the limit of %s: %w", p.Key, len(p.Value), formatBytes(MaxVariableBytes), ErrTooLarge)
	}
	return nil
}

// Normalize checks p.
func (p *ConnectionCreateParams) Normalize() error {
	c := &p.Connection
	if c.ID == "" {
		return fmt.Errorf("connection: empty conn_id: %w", ErrInvalid)
	}
	if c.Type == "" {
		return fmt.Errorf("connection %q: conn_type is required: %w", c.ID, ErrInvalid)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("connection %q: bad port %d: %w", c.ID, c.Port, ErrInvalid)
	}
	return nil
}

// Normalize checks p.
func (p *ConnectionUpdateParams) Normalize() error {
	if p.ConnID == "" {
		return fmt.Errorf("connection: empty conn_id: %w", ErrInvalid)
	}
	if p.Type != nil && *p.Type == "" {
		return fmt.Errorf("connection %q: conn_type is required: %w", p.ConnID, ErrInvalid)
	}
	if p.Port != nil && (*p.Port < 0 || *p.Port > 65535) {
		return fmt.Errorf("connection %q: bad port %d: %w", p.ConnID, *p.Port, ErrInvalid)
	}
	return nil
}

// EncodeExtra returns the connection's extra as JSON.
func (p *ConnectionCreateParams) EncodeExtra() (string, error) {
	return EncodeConnectionExtra(p.Connection.ID, p.Connection.Extra)
}

// EncodeConnectionExtra returns the extra of connection connID as the
// stores keep it: JSON, "{}" for none, at most MaxVariableBytes.
func EncodeConnectionExtra(connID string, extra map[string]any) (string, error) {
	if extra == nil {
		return "{}", nil
	}
	return EncodeJSON(fmt.Sprintf("extra of connection %q", connID), extra, MaxVariableBytes)
}

// Normalize checks p.
func (p *PoolSetParams) Normalize() error {
	if p.Name == "" {
		return fmt.Errorf("pool: empty name: %w", ErrInvalid)
	}
	if p.Slots < 0 {
		return fmt.Errorf("pool %q: slots must not be negative, got %d: %w", p.Name, p.Slots, ErrInvalid)
	}
	return nil
}

// Normalize checks the parameters.
func (p *TaskInstanceExpandParams) Normalize() error {
	switch {
	case p.Key.DagID == "" || p.Key.RunID == "" || p.Key.TaskID == "":
		return fmt.Errorf("expand task instance: dag_id, run_id and task_id are required: %w", ErrInvalid)
	case p.Key.MapIndex != NoMapIndex:
		return fmt.Errorf("expand task instance %s: only map index -1 expands: %w", p.Key, ErrInvalid)
	case p.Count < 1 || p.Count > dags.MaxMapLength:
		return fmt.Errorf("expand task instance %s: count %d out of range 1..%d: %w", p.Key, p.Count, dags.MaxMapLength, ErrInvalid)
	case len(p.From) == 0:
		return fmt.Errorf("expand task instance %s: from states are required: %w", p.Key, ErrInvalid)
	}
	return nil
}

// Validate checks an index row of a log file.
func (f *TaskLogFile) Validate() error {
	if err := f.Key.Validate(); err != nil {
		return err
	}
	if f.TryNumber < 1 {
		return fmt.Errorf("log file of %s: try %d: want 1 or more: %w", f.Key, f.TryNumber, ErrInvalid)
	}
	if f.Path == "" || f.Size < 0 {
		return fmt.Errorf("log file of %s try %d: empty path or negative size: %w", f.Key, f.TryNumber, ErrInvalid)
	}
	return nil
}
