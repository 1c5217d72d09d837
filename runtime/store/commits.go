package store

import (
	"context"
	"sync/atomic"
	"time"
)

// CommitCounter is a Store that counts the write transactions the
// scheduler and workers commit through it: each call of a method that
// writes on the engine's path is one transaction (by the contract of
// Store). Benchmarks divide it by the task instances run to report
// commits per task instance. Methods outside the engine's path (users,
// tokens, variables, connections, sessions) are not counted.
type CommitCounter struct {
	Store
	n atomic.Int64
}

// CountCommits wraps s in a CommitCounter.
func CountCommits(s Store) *CommitCounter { return &CommitCounter{Store: s} }

// Commits returns the number of write transactions counted so far.
func (c *CommitCounter) Commits() int64 { return c.n.Load() }

// count counts one transaction, lost or failed ones too: each costs a
// round trip and a transaction in the database.
func (c *CommitCounter) count(error) { c.n.Add(1) }

// DAGUpsert counts one commit.
func (c *CommitCounter) DAGUpsert(ctx context.Context, p *DAGUpsertParams) (*DAG, error) {
	d, err := c.Store.DAGUpsert(ctx, p)
	c.count(err)
	return d, err
}

// DAGSetNextRun counts one commit.
func (c *CommitCounter) DAGSetNextRun(ctx context.Context, p *DAGSetNextRunParams) error {
	err := c.Store.DAGSetNextRun(ctx, p)
	c.count(err)
	return err
}

// RunCreate counts one commit.
func (c *CommitCounter) RunCreate(ctx context.Context, p *RunCreateParams) (*DagRun, error) {
	r, err := c.Store.RunCreate(ctx, p)
	c.count(err)
	return r, err
}

// RunSetState counts one commit.
func (c *CommitCounter) RunSetState(ctx context.Context, p *RunSetStateParams) (*DagRun, error) {
	r, err := c.Store.RunSetState(ctx, p)
	c.count(err)
	return r, err
}

// TaskInstancesCreate counts one commit.
func (c *CommitCounter) TaskInstancesCreate(ctx context.Context, p *TaskInstancesCreateParams) (int, error) {
	n, err := c.Store.TaskInstancesCreate(ctx, p)
	c.count(err)
	return n, err
}

// TaskLogFileSet counts one commit: the index row of a try's log file,
// on the worker's path.
func (c *CommitCounter) TaskLogFileSet(ctx context.Context, f *TaskLogFile) error {
	err := c.Store.TaskLogFileSet(ctx, f)
	c.count(err)
	return err
}

// TaskInstanceSetState counts one commit.
func (c *CommitCounter) TaskInstanceSetState(ctx context.Context, p *TaskInstanceSetStateParams) (*TaskInstance, error) {
	ti, err := c.Store.TaskInstanceSetState(ctx, p)
	c.count(err)
	return ti, err
}

// TaskInstancesSetStates counts one commit when ps is not empty.
func (c *CommitCounter) TaskInstancesSetStates(ctx context.Context, ps []*TaskInstanceSetStateParams) ([]bool, error) {
	applied, err := c.Store.TaskInstancesSetStates(ctx, ps)
	if len(ps) > 0 {
		c.count(err)
	}
	return applied, err
}

// TaskInstanceEnd counts one commit.
func (c *CommitCounter) TaskInstanceEnd(ctx context.Context, p *TaskInstanceEndParams) ([]bool, error) {
	applied, err := c.Store.TaskInstanceEnd(ctx, p)
	c.count(err)
	return applied, err
}

// TaskInstancesEnd counts one commit.
func (c *CommitCounter) TaskInstancesEnd(ctx context.Context, ps []*TaskInstanceEndParams) ([]TaskInstanceEndResult, error) {
	res, err := c.Store.TaskInstancesEnd(ctx, ps)
	c.count(err)
	return res, err
}

// TaskInstanceClaim counts one commit.
func (c *CommitCounter) TaskInstanceClaim(ctx context.Context, p *TaskInstanceClaimParams) ([]*TaskInstance, error) {
	tis, err := c.Store.TaskInstanceClaim(ctx, p)
	c.count(err)
	return tis, err
}

// TaskInstanceHeartbeat counts one commit.
func (c *CommitCounter) TaskInstanceHeartbeat(ctx context.Context, p *TaskInstanceHeartbeatParams) error {
	err := c.Store.TaskInstanceHeartbeat(ctx, p)
	c.count(err)
	return err
}

// TaskInstanceExpand counts one commit.
func (c *CommitCounter) TaskInstanceExpand(ctx context.Context, p *TaskInstanceExpandParams) error {
	err := c.Store.TaskInstanceExpand(ctx, p)
	c.count(err)
	return err
}

// TaskLogAppend counts one commit.
func (c *CommitCounter) TaskLogAppend(ctx context.Context, p *TaskLogAppendParams) (int64, error) {
	n, err := c.Store.TaskLogAppend(ctx, p)
	c.count(err)
	return n, err
}

// XComSet counts one commit.
func (c *CommitCounter) XComSet(ctx context.Context, p *XComSetParams) error {
	err := c.Store.XComSet(ctx, p)
	c.count(err)
	return err
}

// XComClear counts one commit.
func (c *CommitCounter) XComClear(ctx context.Context, key TaskInstanceKey) (int, error) {
	n, err := c.Store.XComClear(ctx, key)
	c.count(err)
	return n, err
}

// WorkerHeartbeat counts one commit.
func (c *CommitCounter) WorkerHeartbeat(ctx context.Context, p *WorkerHeartbeatParams) error {
	err := c.Store.WorkerHeartbeat(ctx, p)
	c.count(err)
	return err
}

// WorkerPrune counts one commit.
func (c *CommitCounter) WorkerPrune(ctx context.Context, before time.Time) (int, error) {
	n, err := c.Store.WorkerPrune(ctx, before)
	c.count(err)
	return n, err
}

// SchedulerHeartbeat counts one commit.
func (c *CommitCounter) SchedulerHeartbeat(ctx context.Context, p *SchedulerHeartbeatParams) error {
	err := c.Store.SchedulerHeartbeat(ctx, p)
	c.count(err)
	return err
}

// DatasetEventsCreate counts one commit.
func (c *CommitCounter) DatasetEventsCreate(ctx context.Context, p *DatasetEventsCreateParams) ([]*DatasetEvent, error) {
	evs, err := c.Store.DatasetEventsCreate(ctx, p)
	c.count(err)
	return evs, err
}

// DatasetConsumerAdvance counts one commit.
func (c *CommitCounter) DatasetConsumerAdvance(ctx context.Context, p *DatasetConsumerAdvanceParams) error {
	err := c.Store.DatasetConsumerAdvance(ctx, p)
	c.count(err)
	return err
}

// SLAMissRecord counts one commit.
func (c *CommitCounter) SLAMissRecord(ctx context.Context, p *SLAMissRecordParams) (bool, error) {
	created, err := c.Store.SLAMissRecord(ctx, p)
	c.count(err)
	return created, err
}
