package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Audit events: what a user did, as Airflow's Log model names them where
// it has a name for it. An entry's Event is one of these.
const (
	AuditTrigger          = "trigger"
	AuditClear            = "clear"
	AuditMarkSuccess      = "mark_success"
	AuditMarkFailed       = "mark_failed"
	AuditPause            = "pause"
	AuditUnpause          = "unpause"
	AuditVariableSet      = "variable.edit"
	AuditVariableDelete   = "variable.delete"
	AuditConnectionSet    = "connection.edit"
	AuditConnectionDelete = "connection.delete"
	AuditPoolSet          = "pool.edit"
	AuditPoolDelete       = "pool.delete"
	AuditUserCreate       = "user.create"
	AuditUserUpdate       = "user.edit"
	AuditUserDelete       = "user.delete"
	AuditDAGDelete        = "dag.delete"
	AuditDBClean          = "db.clean"
)

// AuditConf is a trigger's conf as an audit entry's Extra: {"conf": ...},
// or a note when it is too large to record.
func AuditConf(conf map[string]any) string {
	if len(conf) == 0 {
		return ""
	}
	b, err := json.Marshal(map[string]any{"conf": conf})
	if err != nil || len(b) > MaxAuditExtraBytes {
		return "conf not recorded (too large)"
	}
	return string(b)
}

// RecordAudit records e, an action already done, with its owner and
// source (ui, api or cli) and the time now: the one function the UI, the
// API and the CLI record their actions with. It records even when ctx is
// cancelled (the action happened).
func RecordAudit(ctx context.Context, a Auditor, e AuditEntry, owner, source string, now time.Time) error {
	e.Owner, e.Source, e.Dttm = owner, source, now
	if err := a.AuditAdd(context.WithoutCancel(ctx), &e); err != nil {
		return fmt.Errorf("record audit entry %s of %s: %w", e.Event, owner, err)
	}
	return nil
}

// MaxAuditExtraBytes bounds an audit entry's Extra (64 KiB).
const MaxAuditExtraBytes = 64 << 10

// AuditEntry is one user action, as Airflow's Log (audit log) row: when,
// what, on which DAG, run and task, by whom, and details in Extra.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Dttm   time.Time `json:"dttm"`
	Event  string    `json:"event"`
	DagID  string    `json:"dag_id,omitempty"`
	TaskID string    `json:"task_id,omitempty"`
	RunID  string    `json:"run_id,omitempty"`
	// Owner is the user who acted ("cli" for the command line when no
	// user is known).
	Owner string `json:"owner"`
	// Source is where the action came from: ui, api or cli.
	Source string `json:"source"`
	// Extra is free text: the object's key, the new state, the form's
	// options.
	Extra string `json:"extra,omitempty"`
}

// Normalize checks an entry before it is stored and sets Dttm to now when
// it is zero.
func (e *AuditEntry) Normalize() error {
	if e.Event == "" {
		return fmt.Errorf("audit entry: empty event: %w", ErrInvalid)
	}
	if len(e.Extra) > MaxAuditExtraBytes {
		return fmt.Errorf("audit entry extra of %d bytes (limit %d): %w", len(e.Extra), MaxAuditExtraBytes, ErrTooLarge)
	}
	e.Dttm = TimeOrNow(e.Dttm)
	return nil
}

// AuditListParams selects audit entries, newest first. Empty fields do not
// filter.
type AuditListParams struct {
	DagID string
	Event string
	Owner string
	// Before lists the entries with ids below it (keyset paging: the id of
	// the last entry of the previous page); 0 starts at the newest.
	Before int64
	// Limit bounds the number of entries (default 100, at most 1000).
	Limit int
}

// Normalize applies the default and the bound of Limit.
func (p *AuditListParams) Normalize() {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	p.Limit = min(p.Limit, 1000)
}
