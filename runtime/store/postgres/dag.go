package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
)

const dagCols = `dag_id, file, source_hash, is_paused, is_active, schedule, description, tags,
	max_active_runs, max_active_tasks, next_logical_date, next_data_interval_start,
	next_data_interval_end, next_create_after, last_parsed_at, created_at, updated_at, display_name`

func scanDAG(r pgx.Row) (*store.DAG, error) {
	var d store.DAG
	var tags string
	var nl, ns, ne, nc, lp, ca, ua *time.Time
	if err := r.Scan(&d.DagID, &d.File, &d.SourceHash, &d.IsPaused, &d.IsActive, &d.Schedule, &d.Description, &tags,
		&d.MaxActiveRuns, &d.MaxActiveTasks, &nl, &ns, &ne, &nc, &lp, &ca, &ua, &d.DisplayName); err != nil {
		return nil, err
	}
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
	var d *store.DAG
	err := s.do(ctx, func(int) error {
		var err error
		d, err = scanDAG(s.pool.QueryRow(ctx, `INSERT INTO dag (dag_id, file, source_hash, is_paused, is_active, schedule,
			description, tags, max_active_runs, max_active_tasks, last_parsed_at, created_at, updated_at, display_name)
			VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $8, $9, $10, $11, $11, $12)
			ON CONFLICT (dag_id) DO UPDATE SET file = excluded.file, source_hash = excluded.source_hash,
				is_active = TRUE, schedule = excluded.schedule, description = excluded.description,
				tags = excluded.tags, max_active_runs = excluded.max_active_runs,
				max_active_tasks = excluded.max_active_tasks, last_parsed_at = excluded.last_parsed_at,
				display_name = excluded.display_name,
				updated_at = excluded.updated_at
			RETURNING `+dagCols,
			p.DagID, p.File, p.SourceHash, p.IsPausedUponCreation, p.Schedule, p.Description, string(tags),
			p.MaxActiveRuns, p.MaxActiveTasks, tv(p.ParsedAt), t, p.DisplayName))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert dag %s: %w", p.DagID, err)
	}
	return d, nil
}

// DAGGet returns one DAG.
func (s *Store) DAGGet(ctx context.Context, dagID string) (*store.DAG, error) {
	var d *store.DAG
	err := s.do(ctx, func(int) error {
		var err error
		d, err = scanDAG(s.pool.QueryRow(ctx, `SELECT `+dagCols+` FROM dag WHERE dag_id = $1`, dagID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("dag %q: %w", dagID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag %s: %w", dagID, err)
	}
	return d, nil
}

// DAGList returns DAGs ordered by id.
func (s *Store) DAGList(ctx context.Context, p *store.DAGListParams) ([]*store.DAG, error) {
	var b builder
	if p.Paused != nil {
		b.add("is_paused = ?", *p.Paused)
	}
	if p.Active != nil {
		b.add("is_active = ?", *p.Active)
	}
	if !p.DueBefore.IsZero() {
		b.add("next_create_after <= ?", tv(store.Truncate(p.DueBefore)))
	}
	q := `SELECT ` + dagCols + ` FROM dag` + b.where() + ` ORDER BY dag_id` + b.page(p.Limit, p.Offset)
	var out []*store.DAG
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, b.args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanDAG)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list dags: %w", err)
	}
	return out, nil
}

// execOne runs a statement that must touch one row.
func (s *Store) execOne(ctx context.Context, what, q string, args ...any) error {
	var n int64
	err := s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, q, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// DAGSetPaused pauses or unpauses a DAG.
func (s *Store) DAGSetPaused(ctx context.Context, dagID string, paused bool) error {
	return s.execOne(ctx, fmt.Sprintf("dag %q", dagID),
		`UPDATE dag SET is_paused = $1, updated_at = $2 WHERE dag_id = $3`, paused, now(), dagID)
}

// DAGSetNextRun records the DAG's next scheduled run.
func (s *Store) DAGSetNextRun(ctx context.Context, p *store.DAGSetNextRunParams) error {
	n := p.Next
	return s.execOne(ctx, fmt.Sprintf("dag %q", p.DagID),
		`UPDATE dag SET next_logical_date = $1, next_data_interval_start = $2, next_data_interval_end = $3,
			next_create_after = $4, updated_at = $5 WHERE dag_id = $6`,
		tv(store.Truncate(n.LogicalDate)), tv(store.Truncate(n.DataIntervalStart)), tv(store.Truncate(n.DataIntervalEnd)),
		tv(store.Truncate(n.CreateAfter)), now(), p.DagID)
}

// DAGDeactivate marks inactive the DAGs a file no longer defines.
func (s *Store) DAGDeactivate(ctx context.Context, p *store.DAGDeactivateParams) (int, error) {
	keep := p.Keep
	if keep == nil {
		keep = []string{}
	}
	var n int64
	err := s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, `UPDATE dag SET is_active = FALSE, updated_at = $1
			WHERE file = $2 AND is_active AND dag_id <> ALL($3)`, now(), p.File, keep)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("deactivate dags of %s: %w", p.File, err)
	}
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
	err = s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO dag_version (source_hash, entry_file, files, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (source_hash) DO NOTHING`, p.SourceHash, p.EntryFile, files, now())
		return err
	})
	if err != nil {
		return fmt.Errorf("put dag version %s: %w", p.SourceHash, err)
	}
	return nil
}

// DAGVersionGet returns a source bundle.
func (s *Store) DAGVersionGet(ctx context.Context, sourceHash string) (*store.DAGVersion, error) {
	var v store.DAGVersion
	var files string
	var ca *time.Time
	err := s.do(ctx, func(int) error {
		return s.pool.QueryRow(ctx, `SELECT source_hash, entry_file, files, created_at FROM dag_version WHERE source_hash = $1`,
			sourceHash).Scan(&v.SourceHash, &v.EntryFile, &files, &ca)
	})
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.inTx(ctx, func(tx pgx.Tx, _ int) error {
		batch := &pgx.Batch{}
		batch.Queue(`DELETE FROM import_error WHERE file = $1`, p.File)
		for _, e := range p.Errors {
			batch.Queue(`INSERT INTO import_error (file, line, col, message, created_at) VALUES ($1, $2, $3, $4, $5)`,
				p.File, e.Pos.Line, e.Pos.Col, e.Message, ts)
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return fmt.Errorf("replace import errors of %s: %w", p.File, err)
	}
	return nil
}

// ImportErrorList returns every import error.
func (s *Store) ImportErrorList(ctx context.Context) ([]*store.ImportError, error) {
	var out []*store.ImportError
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT id, file, line, col, message, created_at FROM import_error ORDER BY file, line, col, id`)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, func(r pgx.Row) (*store.ImportError, error) {
			var e store.ImportError
			var ca *time.Time
			if err := r.Scan(&e.ID, &e.Pos.File, &e.Pos.Line, &e.Pos.Col, &e.Message, &ca); err != nil {
				return nil, err
			}
			e.Timestamp = tget(ca)
			return &e, nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	return out, nil
}
