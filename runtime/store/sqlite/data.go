package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// TaskLogAppend appends to a try's log and returns its new size.
func (s *Store) TaskLogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	k := p.Key
	if len(p.Data) == 0 {
		var size int64
		if err := s.write.QueryRowContext(ctx, `SELECT COALESCE(MAX(byte_offset + length(data)), 0) FROM task_log
			WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? AND try_number = ?`,
			k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber).Scan(&size); err != nil {
			return 0, fmt.Errorf("append to log of %s: %w", k, err)
		}
		return size, nil
	}
	var size int64
	err := s.inWriteTx(ctx, func(w *writeTx) error {
		var err error
		size, err = w.LogAppend(ctx, p)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("append to log: %w", err)
	}
	if err != nil {
		return 0, fmt.Errorf("append to log of %s: %w", k, err)
	}
	return size, nil
}

// TaskLogRead reads a try's log from an offset.
func (s *Store) TaskLogRead(ctx context.Context, p *store.TaskLogReadParams) (*store.TaskLogChunk, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	k := p.Key
	rows, err := s.read.QueryContext(ctx, `SELECT byte_offset, data FROM task_log
		WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? AND try_number = ?
		AND byte_offset + length(data) > ? ORDER BY byte_offset`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber, p.Offset)
	if err != nil {
		return nil, fmt.Errorf("read log of %s: %w", k, err)
	}
	defer rows.Close()
	chunk := &store.TaskLogChunk{NextOffset: p.Offset}
	for rows.Next() && len(chunk.Data) < p.Limit {
		var off int64
		var data []byte
		if err := rows.Scan(&off, &data); err != nil {
			return nil, fmt.Errorf("read log of %s: %w", k, err)
		}
		chunk.Data = store.AppendLog(chunk.Data, &chunk.NextOffset, off, data, p.Limit)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read log of %s: %w", k, err)
	}
	return chunk, nil
}

// XComSet stores an XCom value.
func (s *Store) XComSet(ctx context.Context, p *store.XComSetParams) error {
	val, err := p.Encode()
	if err != nil {
		return err
	}
	k := p.TaskInstanceKey
	_, err = s.write.ExecContext(ctx, `INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dag_id, run_id, task_id, map_index, key)
		DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, p.Key, val, tv(now()))
	if isForeignKey(err) {
		return fmt.Errorf("set xcom %q: task instance %s: %w", p.Key, k, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set xcom %q of %s: %w", p.Key, k, err)
	}
	return nil
}

// XComGet returns one XCom.
func (s *Store) XComGet(ctx context.Context, p *store.XComGetParams) (*store.XCom, error) {
	k := p.TaskInstanceKey
	x, err := sqlq.ScanXCom(s.read.QueryRowContext(ctx, `SELECT `+sqlq.XComColumns+` FROM xcom
		WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ? AND key = ?`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, p.Key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("xcom %q of %s: %w", p.Key, k, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get xcom %q of %s: %w", p.Key, k, err)
	}
	if x.ValueError != "" {
		return nil, fmt.Errorf("%s: %w", x.ValueError, store.ErrCorrupt)
	}
	return x, nil
}

// XComList returns a run's XComs.
func (s *Store) XComList(ctx context.Context, p *store.XComListParams) ([]*store.XCom, error) {
	q := `SELECT ` + sqlq.XComColumns + ` FROM xcom WHERE dag_id = ? AND run_id = ?`
	args := []any{p.DagID, p.RunID}
	if p.TaskID != "" {
		q += ` AND task_id = ?`
		args = append(args, p.TaskID)
		if p.MapIndex != nil {
			q += ` AND map_index = ?`
			args = append(args, *p.MapIndex)
		}
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY task_id, map_index, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("list xcoms of %s/%s: %w", p.DagID, p.RunID, err)
	}
	defer rows.Close()
	var out []*store.XCom
	for rows.Next() {
		x, err := sqlq.ScanXCom(rows)
		if err != nil {
			return nil, fmt.Errorf("list xcoms of %s/%s: %w", p.DagID, p.RunID, err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// XComClear deletes the XComs of one task instance.
func (s *Store) XComClear(ctx context.Context, k store.TaskInstanceKey) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = ?`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex)
	if err != nil {
		return 0, fmt.Errorf("clear xcoms of %s: %w", k, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// VariableSet creates or replaces a variable.
func (s *Store) VariableSet(ctx context.Context, p *store.VariableSetParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	val := p.Value
	if p.Secret {
		var err error
		if val, err = store.Seal(s.secrets, fmt.Sprintf("variable %q", p.Key), p.Value); err != nil {
			return err
		}
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO variable (key, value, description, is_encrypted, updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value,
		description = excluded.description, is_encrypted = excluded.is_encrypted, updated_at = excluded.updated_at`,
		p.Key, val, p.Description, boolInt(p.Secret), tv(now()))
	if err != nil {
		return fmt.Errorf("set variable %q: %w", p.Key, err)
	}
	return nil
}

func (s *Store) scanVariable(r scanner) (*store.Variable, error) {
	var v store.Variable
	var enc int
	var ua sql.NullInt64
	if err := r.Scan(&v.Key, &v.Value, &v.Description, &enc, &ua); err != nil {
		return nil, err
	}
	v.Secret, v.UpdatedAt = enc != 0, tget(ua)
	if v.Secret {
		plain, err := store.Unseal(s.secrets, fmt.Sprintf("variable %q", v.Key), v.Value)
		if err != nil {
			return nil, err
		}
		v.Value = plain
	}
	return &v, nil
}

// VariableGet returns a variable with its plain value.
func (s *Store) VariableGet(ctx context.Context, key string) (*store.Variable, error) {
	v, err := s.scanVariable(s.read.QueryRowContext(ctx, `SELECT key, value, description, is_encrypted, updated_at
		FROM variable WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("variable %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get variable %q: %w", key, err)
	}
	return v, nil
}

// VariableList returns every variable.
func (s *Store) VariableList(ctx context.Context) ([]*store.Variable, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT key, value, description, is_encrypted, updated_at FROM variable ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	defer rows.Close()
	var out []*store.Variable
	for rows.Next() {
		v, err := s.scanVariable(rows)
		if err != nil {
			return nil, fmt.Errorf("list variables: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// VariableDelete deletes a variable.
func (s *Store) VariableDelete(ctx context.Context, key string) error {
	return s.execOne(ctx, fmt.Sprintf("variable %q", key), `DELETE FROM variable WHERE key = ?`, key)
}

// ConnectionCreate stores a new connection.
func (s *Store) ConnectionCreate(ctx context.Context, p *store.ConnectionCreateParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	c := p.Connection
	extra, err := p.EncodeExtra()
	if err != nil {
		return err
	}
	pw := ""
	if c.Password != "" {
		if pw, err = store.Seal(s.secrets, fmt.Sprintf("password of connection %q", c.ID), c.Password); err != nil {
			return err
		}
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO connection (conn_id, conn_type, description, host, port, schema,
		login, password, extra, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Type, p.Description, c.Host, c.Port, c.Schema, c.Login, pw, extra, tv(now()))
	if isUnique(err) {
		return fmt.Errorf("connection %q: %w", c.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create connection %q: %w", c.ID, err)
	}
	return nil
}

const connCols = `conn_id, conn_type, description, host, port, schema, login, password, extra, updated_at`

func (s *Store) scanConnection(r scanner) (*store.Connection, error) {
	var c store.Connection
	var extra string
	var ua sql.NullInt64
	if err := r.Scan(&c.ID, &c.Type, &c.Description, &c.Host, &c.Port, &c.Schema, &c.Login, &c.Password, &extra, &ua); err != nil {
		return nil, err
	}
	c.UpdatedAt = tget(ua)
	var err error
	if c.Extra, err = store.DecodeJSONObject(fmt.Sprintf("extra of connection %q", c.ID), extra); err != nil {
		return nil, err
	}
	if c.Password != "" {
		if c.Password, err = store.Unseal(s.secrets, fmt.Sprintf("password of connection %q", c.ID), c.Password); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// ConnectionGet returns a connection with its plain password.
func (s *Store) ConnectionGet(ctx context.Context, connID string) (*store.Connection, error) {
	c, err := s.scanConnection(s.read.QueryRowContext(ctx, `SELECT `+connCols+` FROM connection WHERE conn_id = ?`, connID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("connection %q: %w", connID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get connection %q: %w", connID, err)
	}
	return c, nil
}

// ConnectionList returns every connection.
func (s *Store) ConnectionList(ctx context.Context) ([]*store.Connection, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+connCols+` FROM connection ORDER BY conn_id`)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	defer rows.Close()
	var out []*store.Connection
	for rows.Next() {
		c, err := s.scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConnectionDelete deletes a connection.
func (s *Store) ConnectionDelete(ctx context.Context, connID string) error {
	return s.execOne(ctx, fmt.Sprintf("connection %q", connID), `DELETE FROM connection WHERE conn_id = ?`, connID)
}

// PoolSet creates or resizes a pool.
func (s *Store) PoolSet(ctx context.Context, p *store.PoolSetParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO pool (name, slots, description) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, description = excluded.description`,
		p.Name, p.Slots, p.Description); err != nil {
		return fmt.Errorf("set pool %q: %w", p.Name, err)
	}
	return nil
}

const poolSQL = `SELECT p.name, p.slots, p.description,
	COALESCE(SUM(CASE WHEN ti.state = 'running' THEN ti.pool_slots END), 0),
	COALESCE(SUM(CASE WHEN ti.state = 'queued' THEN ti.pool_slots END), 0)
	FROM pool p LEFT JOIN task_instance ti ON ti.pool = p.name AND ti.state IN ('running', 'queued')`

func scanPools(rows *sql.Rows) ([]*store.Pool, error) {
	defer rows.Close()
	var out []*store.Pool
	for rows.Next() {
		var p store.Pool
		if err := rows.Scan(&p.Name, &p.Slots, &p.Description, &p.RunningSlots, &p.QueuedSlots); err != nil {
			return nil, err
		}
		out = append(out, &p)
	}
	return out, rows.Err()
}

// PoolGet returns a pool with its occupancy.
func (s *Store) PoolGet(ctx context.Context, name string) (*store.Pool, error) {
	rows, err := s.read.QueryContext(ctx, poolSQL+` WHERE p.name = ? GROUP BY p.name, p.slots, p.description`, name)
	if err != nil {
		return nil, fmt.Errorf("get pool %q: %w", name, err)
	}
	pools, err := scanPools(rows)
	if err != nil {
		return nil, fmt.Errorf("get pool %q: %w", name, err)
	}
	if len(pools) == 0 {
		return nil, fmt.Errorf("pool %q: %w", name, store.ErrNotFound)
	}
	return pools[0], nil
}

// PoolList returns every pool with its occupancy.
func (s *Store) PoolList(ctx context.Context) ([]*store.Pool, error) {
	rows, err := s.read.QueryContext(ctx, poolSQL+` GROUP BY p.name, p.slots, p.description ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	pools, err := scanPools(rows)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return pools, nil
}

// PoolDelete deletes a pool.
func (s *Store) PoolDelete(ctx context.Context, name string) error {
	if name == store.DefaultPool {
		return fmt.Errorf("pool %q cannot be deleted: %w", name, store.ErrInvalid)
	}
	return s.execOne(ctx, fmt.Sprintf("pool %q", name), `DELETE FROM pool WHERE name = ?`, name)
}
