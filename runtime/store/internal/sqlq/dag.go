package sqlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// dagCols are the columns scanDAG reads, in order.
const dagCols = `dag_id, file, source_hash, is_paused, is_active, schedule, description, tags,
	max_active_runs, max_active_tasks, next_logical_date, next_data_interval_start,
	next_data_interval_end, next_create_after, last_parsed_at, created_at, updated_at, display_name`

func scanDAG(r Scanner) (*store.DAG, error) {
	var d store.DAG
	var tags string
	if err := r.Scan(&d.DagID, &d.File, &d.SourceHash, &d.IsPaused, &d.IsActive, &d.Schedule, &d.Description, &tags,
		&d.MaxActiveRuns, &d.MaxActiveTasks, At(&d.Next.LogicalDate), At(&d.Next.DataIntervalStart), At(&d.Next.DataIntervalEnd),
		At(&d.Next.CreateAfter), At(&d.LastParsedAt), At(&d.CreatedAt), At(&d.UpdatedAt), &d.DisplayName); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &d.Tags); err != nil {
		d.Tags = nil
	}
	return &d, nil
}

// now is the time the stores write: microseconds, as they keep it.
func now() time.Time { return store.Truncate(time.Now()) }

// DAGUpsert is store.Store.DAGUpsert over a store's Conn.
func (m Methods) DAGUpsert(ctx context.Context, p *store.DAGUpsertParams) (*store.DAG, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	d := c.D
	tags, _ := json.Marshal(p.Tags)
	q := `INSERT INTO dag (dag_id, file, source_hash, is_paused, is_active, schedule,
		description, tags, max_active_runs, max_active_tasks, last_parsed_at, created_at, updated_at, display_name)
		VALUES (` + params(d, 1, 4) + `, ` + d.True + `, ` + params(d, 5, 11) + `, ` + d.Param(11) + `, ` + d.Param(12) + `)
		ON CONFLICT (dag_id) DO UPDATE SET file = excluded.file, source_hash = excluded.source_hash,
			is_active = ` + d.True + `, schedule = excluded.schedule, description = excluded.description,
			tags = excluded.tags, max_active_runs = excluded.max_active_runs,
			max_active_tasks = excluded.max_active_tasks, last_parsed_at = excluded.last_parsed_at,
			display_name = excluded.display_name,
			updated_at = excluded.updated_at
		RETURNING ` + dagCols
	var dag *store.DAG
	err := c.WriteRow(ctx, q, []any{p.DagID, p.File, p.SourceHash, d.Bool(p.IsPausedUponCreation), p.Schedule, p.Description,
		string(tags), p.MaxActiveRuns, p.MaxActiveTasks, d.Time(p.ParsedAt), d.Time(now()), p.DisplayName}, func(r Scanner) error {
		var err error
		dag, err = scanDAG(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("upsert dag %s: %w", p.DagID, err)
	}
	return dag, nil
}

// DAGGet is store.Store.DAGGet over a store's Conn.
func (m Methods) DAGGet(ctx context.Context, dagID string) (*store.DAG, error) {
	c := m.c
	var d *store.DAG
	err := c.ScanRow(ctx, `SELECT `+dagCols+` FROM dag WHERE dag_id = `+c.D.Param(1), []any{dagID}, func(r Scanner) error {
		var err error
		d, err = scanDAG(r)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("dag %q: %w", dagID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag %s: %w", dagID, err)
	}
	return d, nil
}

// dagWhere is the WHERE of DAGList, DAGCount and DAGTags: p's filters
// without its paging.
func dagWhere(d Dialect, p *store.DAGListParams) *where {
	w := &where{d: d}
	if p.Paused != nil {
		w.eq("is_paused", d.Bool(*p.Paused))
	}
	if p.Active != nil {
		w.eq("is_active", d.Bool(*p.Active))
	}
	if !p.DueBefore.IsZero() {
		w.cmp("next_create_after", "<=", d.Time(store.Truncate(p.DueBefore)))
	}
	if p.Search != "" {
		w.args = append(w.args, "%"+likeEscaper.Replace(p.Search)+"%")
		like := " LIKE lower(" + d.Param(len(w.args)) + `) ESCAPE '\'`
		w.conds = append(w.conds, "(lower(dag_id)"+like+" OR lower(display_name)"+like+")")
	}
	if len(p.Tags) > 0 {
		w.args = append(w.args, nil)
		cond, v := d.HasAny("tags", d.Param(len(w.args)), p.Tags)
		w.args[len(w.args)-1] = v
		w.conds = append(w.conds, cond)
	}
	return w
}

// likeEscaper escapes a LIKE pattern's wildcards (and its escape
// character) so that a search matches them literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// DAGList is store.Store.DAGList over a store's Conn.
func (m Methods) DAGList(ctx context.Context, p *store.DAGListParams) ([]*store.DAG, error) {
	c := m.c
	w := dagWhere(c.D, p)
	q := `SELECT ` + dagCols + ` FROM dag` + w.clause() + ` ORDER BY dag_id` + w.page(p.Limit, p.Offset)
	out, err := QueryAll(ctx, c, q, w.args, scanDAG)
	if err != nil {
		return nil, fmt.Errorf("list dags: %w", err)
	}
	return out, nil
}

// DAGCount is store.Store.DAGCount over a store's Conn.
func (m Methods) DAGCount(ctx context.Context, p *store.DAGListParams) (int, error) {
	c := m.c
	w := dagWhere(c.D, p)
	var n int64
	if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM dag`+w.clause(), w.args, &n); err != nil {
		return 0, fmt.Errorf("count dags: %w", err)
	}
	return int(n), nil
}

// DAGTags is store.Store.DAGTags over a store's Conn. DAGs mostly share
// their tag lists: the distinct lists are few, and merged here.
func (m Methods) DAGTags(ctx context.Context, p *store.DAGListParams) ([]string, error) {
	c := m.c
	w := dagWhere(c.D, p)
	lists, err := QueryStrings(ctx, c, `SELECT DISTINCT tags FROM dag`+w.clause(), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list dag tags: %w", err)
	}
	seen := map[string]bool{}
	out := []string{}
	for _, l := range lists {
		var tags []string
		if err := json.Unmarshal([]byte(l), &tags); err != nil {
			continue // as scanDAG: a corrupt list has no tags
		}
		for _, t := range tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// ExecOne runs a statement that must touch one row: an error wrapping
// store.ErrNotFound when it touched none.
func ExecOne(ctx context.Context, c Conn, what, q string, args ...any) error {
	n, err := c.ExecCount(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// DAGSetPaused is store.Store.DAGSetPaused over a store's Conn.
func (m Methods) DAGSetPaused(ctx context.Context, dagID string, paused bool) error {
	c := m.c
	d := c.D
	return ExecOne(ctx, c, fmt.Sprintf("dag %q", dagID),
		`UPDATE dag SET is_paused = `+d.Param(1)+`, updated_at = `+d.Param(2)+` WHERE dag_id = `+d.Param(3),
		d.Bool(paused), d.Time(now()), dagID)
}

// DAGSetNextRun is store.Store.DAGSetNextRun over a store's Conn.
func (m Methods) DAGSetNextRun(ctx context.Context, p *store.DAGSetNextRunParams) error {
	c := m.c
	d, n := c.D, p.Next
	return ExecOne(ctx, c, fmt.Sprintf("dag %q", p.DagID),
		`UPDATE dag SET next_logical_date = `+d.Param(1)+`, next_data_interval_start = `+d.Param(2)+`, next_data_interval_end = `+d.Param(3)+`,
			next_create_after = `+d.Param(4)+`, updated_at = `+d.Param(5)+` WHERE dag_id = `+d.Param(6),
		d.Time(store.Truncate(n.LogicalDate)), d.Time(store.Truncate(n.DataIntervalStart)), d.Time(store.Truncate(n.DataIntervalEnd)),
		d.Time(store.Truncate(n.CreateAfter)), d.Time(now()), p.DagID)
}

// DAGDeactivate is store.Store.DAGDeactivate over a store's Conn.
func (m Methods) DAGDeactivate(ctx context.Context, p *store.DAGDeactivateParams) (int, error) {
	c := m.c
	d := c.D
	w := &where{d: d, args: []any{d.Time(now())}}
	w.eq("file", p.File)
	w.conds = append(w.conds, "is_active = "+d.True)
	if len(p.Keep) > 0 {
		w.in("dag_id", p.Keep)
		w.conds[len(w.conds)-1] = "NOT (" + w.conds[len(w.conds)-1] + ")"
	}
	n, err := c.ExecCount(ctx, `UPDATE dag SET is_active = `+d.False+`, updated_at = `+d.Param(1)+w.clause(), w.args...)
	if err != nil {
		return 0, fmt.Errorf("deactivate dags of %s: %w", p.File, err)
	}
	return int(n), nil
}

// DAGVersionPut is store.Store.DAGVersionPut over a store's Conn.
func (m Methods) DAGVersionPut(ctx context.Context, p *store.DAGVersionPutParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	files, err := store.EncodeJSON("source bundle "+p.SourceHash, p.Files, store.MaxSourceBytes)
	if err != nil {
		return err
	}
	if err := c.Exec(ctx, `INSERT INTO dag_version (source_hash, entry_file, files, created_at)
		VALUES (`+params(c.D, 1, 4)+`) ON CONFLICT (source_hash) DO NOTHING`, p.SourceHash, p.EntryFile, files, c.D.Time(now())); err != nil {
		return fmt.Errorf("put dag version %s: %w", p.SourceHash, err)
	}
	return nil
}

// DAGVersionGet is store.Store.DAGVersionGet over a store's Conn.
func (m Methods) DAGVersionGet(ctx context.Context, sourceHash string) (*store.DAGVersion, error) {
	c := m.c
	var v store.DAGVersion
	var files string
	err := c.QueryRow(ctx, `SELECT source_hash, entry_file, files, created_at FROM dag_version WHERE source_hash = `+c.D.Param(1),
		[]any{sourceHash}, &v.SourceHash, &v.EntryFile, &files, At(&v.CreatedAt))
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("dag version %q: %w", sourceHash, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get dag version %s: %w", sourceHash, err)
	}
	if err := json.Unmarshal([]byte(files), &v.Files); err != nil {
		return nil, fmt.Errorf("dag version %s: stored bundle is corrupt: %v: %w", sourceHash, err, store.ErrCorrupt)
	}
	return &v, nil
}

// ImportErrorList is store.Store.ImportErrorList over a store's Conn.
func (m Methods) ImportErrorList(ctx context.Context) ([]*store.ImportError, error) {
	c := m.c
	out, err := QueryAll(ctx, c, `SELECT id, file, line, col, message, created_at FROM import_error ORDER BY file, line, col, id`, nil,
		func(r Scanner) (*store.ImportError, error) {
			var e store.ImportError
			err := r.Scan(&e.ID, &e.Pos.File, &e.Pos.Line, &e.Pos.Col, &e.Message, At(&e.Timestamp))
			return &e, err
		})
	if err != nil {
		return nil, fmt.Errorf("list import errors: %w", err)
	}
	return out, nil
}
