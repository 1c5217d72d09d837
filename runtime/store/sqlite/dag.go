package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

const dagCols = `dag_id, file, source_hash, is_paused, is_active, schedule, description, tags,
	max_active_runs, max_active_tasks, next_logical_date, next_data_interval_start,
	next_data_interval_end, next_create_after, last_parsed_at, created_at, updated_at, display_name`

type scanner interface{ Scan(dest ...any) error }

func scanDAG(r scanner) (*store.DAG, error) {
	var d store.DAG
	var paused, active int
	var tags string
	var nl, ns, ne, nc, lp, ca, ua sql.NullInt64
	if err := r.Scan(&d.DagID, &d.File, &d.SourceHash, &paused, &active, &d.Schedule, &d.Description, &tags,
		&d.MaxActiveRuns, &d.MaxActiveTasks, &nl, &ns, &ne, &nc, &lp, &ca, &ua, &d.DisplayName); err != nil {
		return nil, err
	}
	d.IsPaused, d.IsActive = paused != 0, active != 0
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		d.Tags = nil
	}
	d.Next = store.NextRun{LogicalDate: tget(nl), DataIntervalStart: tget(ns), DataIntervalEnd: tget(ne), CreateAfter: tget(nc)}
	d.LastParsedAt, d.CreatedAt, d.UpdatedAt = tget(lp), tget(ca), tget(ua)
	return &d, nil
}

// DAGUpsert records a parsed DAG.
func (s *Store) DAGUpsert(ctx context.Context, p *store.DAGUpsertParams) (*store.DAG, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	tags, _ := json.Marshal(p.Tags)
	t := now()
	row := s.write.QueryRowContext(ctx, `INSERT INTO dag (dag_id, file, source_hash, is_paused, is_active, schedule,
		description, tags, max_active_runs, max_active_tasks, last_parsed_at, created_at, updated_at, display_name)
		VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dag_id) DO UPDATE SET file = excluded.file, source_hash = excluded.source_hash,
			is_active = 1, schedule = excluded.schedule, description = excluded.description,
			tags = excluded.tags, max_active_runs = excluded.max_active_runs,
			max_active_tasks = excluded.max_active_tasks, last_parsed_at = excluded.last_parsed_at,
			display_name = excluded.display_name,
			updated_at = excluded.updated_at
		RETURNING `+dagCols,
		p.DagID, p.File, p.SourceHash, boolInt(p.IsPausedUponCreation), p.Schedule, p.Description, string(tags),
		p.MaxActiveRuns, p.MaxActiveTasks, tv(p.ParsedAt), tv(t), tv(t), p.DisplayName)
	d, err := scanDAG(row)
	if err != nil {
		return nil, fmt.Errorf("upsert dag %s: %w", p.DagID, err)
	}
	return d, nil
}

// DAGGet returns one DAG.
func (s *Store) DAGGet(ctx context.Context, dagID string) (*store.DAG, error) {
	d, err := scanDAG(s.read.QueryRowContext(ctx, `SELECT `+dagCols+` FROM dag WHERE dag_id = ?`, dagID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dag %q: %w", dagID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag %s: %w", dagID, err)
	}
	return d, nil
}

// DAGList returns DAGs ordered by id.
func (s *Store) DAGList(ctx context.Context, p *store.DAGListParams) ([]*store.DAG, error) {
	var where []string
	var args []any
	if p.Paused != nil {
		where = append(where, "is_paused = ?")
		args = append(args, boolInt(*p.Paused))
	}
	if p.Active != nil {
		where = append(where, "is_active = ?")
		args = append(args, boolInt(*p.Active))
	}
	if !p.DueBefore.IsZero() {
		where = append(where, "next_create_after <= ?")
		args = append(args, tv(store.Truncate(p.DueBefore)))
	}
	q := `SELECT ` + dagCols + ` FROM dag` + whereClause(where) + ` ORDER BY dag_id LIMIT ? OFFSET ?`
	args = append(args, limit(p.Limit), p.Offset)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list dags: %w", err)
	}
	defer rows.Close()
	var out []*store.DAG
	for rows.Next() {
		d, err := scanDAG(rows)
		if err != nil {
			return nil, fmt.Errorf("list dags: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list dags: %w", err)
	}
	return out, nil
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func (s *Store) execOne(ctx context.Context, what string, q string, args ...any) error {
	res, err := s.write.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// DAGSetPaused pauses or unpauses a DAG.
func (s *Store) DAGSetPaused(ctx context.Context, dagID string, paused bool) error {
	return s.execOne(ctx, fmt.Sprintf("dag %q", dagID),
		`UPDATE dag SET is_paused = ?, updated_at = ? WHERE dag_id = ?`, boolInt(paused), tv(now()), dagID)
}

// DAGSetNextRun records the DAG's next scheduled run.
func (s *Store) DAGSetNextRun(ctx context.Context, p *store.DAGSetNextRunParams) error {
	n := p.Next
	return s.execOne(ctx, fmt.Sprintf("dag %q", p.DagID),
		`UPDATE dag SET next_logical_date = ?, next_data_interval_start = ?, next_data_interval_end = ?,
			next_create_after = ?, updated_at = ? WHERE dag_id = ?`,
		tv(store.Truncate(n.LogicalDate)), tv(store.Truncate(n.DataIntervalStart)), tv(store.Truncate(n.DataIntervalEnd)),
		tv(store.Truncate(n.CreateAfter)), tv(now()), p.DagID)
}

// DAGDeactivate marks inactive the DAGs a file no longer defines.
func (s *Store) DAGDeactivate(ctx context.Context, p *store.DAGDeactivateParams) (int, error) {
	args := []any{tv(now()), p.File}
	q := `UPDATE dag SET is_active = 0, updated_at = ? WHERE file = ? AND is_active = 1`
	if len(p.Keep) > 0 {
		var list string
		list, args = in(args, p.Keep)
		q += ` AND dag_id NOT IN ` + list
	}
	res, err := s.write.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("deactivate dags of %s: %w", p.File, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DAGVersionPut stores a source bundle.
func (s *Store) DAGVersionPut(ctx context.Context, p *store.DAGVersionPutParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	files, err := store.EncodeJSON("source bundle "+p.SourceHash, p.Files, store.MaxSourceBytes)
	if err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO dag_version (source_hash, entry_file, files, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (source_hash) DO NOTHING`, p.SourceHash, p.EntryFile, files, tv(now())); err != nil {
		return fmt.Errorf("put dag version %s: %w", p.SourceHash, err)
	}
	return nil
}

// DAGVersionGet returns a source bundle.
func (s *Store) DAGVersionGet(ctx context.Context, sourceHash string) (*store.DAGVersion, error) {
	var v store.DAGVersion
	var files string
	var ca sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT source_hash, entry_file, files, created_at FROM dag_version WHERE source_hash = ?`,
		sourceHash).Scan(&v.SourceHash, &v.EntryFile, &files, &ca)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dag version %q: %w", sourceHash, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag version %s: %w", sourceHash, err)
	}
	if err := json.Unmarshal([]byte(files), &v.Files); err != nil {
		return nil, fmt.Errorf("dag version %s: stored bundle is corrupt: %v: %w", sourceHash, err, store.ErrCorrupt)
	}
	v.CreatedAt = tget(ca)
	return &v, nil
}

// ImportErrorsReplace replaces the import errors of one file.
func (s *Store) ImportErrorsReplace(ctx context.Context, p *store.ImportErrorsReplaceParams) error {
	ts := store.TimeOrNow(p.Timestamp)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_error WHERE file = ?`, p.File); err != nil {
			return fmt.Errorf("replace import errors of %s: %w", p.File, err)
		}
		for _, e := range p.Errors {
			if _, err := tx.ExecContext(ctx, `INSERT INTO import_error (file, line, col, message, created_at) VALUES (?, ?, ?, ?, ?)`,
				p.File, e.Pos.Line, e.Pos.Col, e.Message, tv(ts)); err != nil {
				return fmt.Errorf("replace import errors of %s: %w", p.File, err)
			}
		}
		return nil
	})
}

// ImportErrorList returns every import error.
func (s *Store) ImportErrorList(ctx context.Context) ([]*store.ImportError, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, file, line, col, message, created_at FROM import_error ORDER BY file, line, col, id`)
	if err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	defer rows.Close()
	var out []*store.ImportError
	for rows.Next() {
		var e store.ImportError
		var ca sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Pos.File, &e.Pos.Line, &e.Pos.Col, &e.Message, &ca); err != nil {
			return nil, fmt.Errorf("list import errors: %w", err)
		}
		e.Timestamp = tget(ca)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	return out, nil
}
