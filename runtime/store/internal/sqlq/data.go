package sqlq

import (
	"context"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
)

// keyWhere returns the conditions selecting one task instance.
func keyWhere(d Dialect, k store.TaskInstanceKey) *where {
	w := &where{d: d}
	w.eq("dag_id", k.DagID)
	w.eq("run_id", k.RunID)
	w.eq("task_id", k.TaskID)
	w.eq("map_index", k.MapIndex)
	return w
}

// TaskLogRead is store.Store.TaskLogRead over a store's Conn.
func (m Methods) TaskLogRead(ctx context.Context, p *store.TaskLogReadParams) (*store.TaskLogChunk, error) {
	c := m.c
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	k := p.Key
	w := keyWhere(c.D, k)
	w.eq("try_number", p.TryNumber)
	w.cmp("byte_offset + "+c.D.OctetLength+"(data)", ">", p.Offset)
	var chunk *store.TaskLogChunk
	err := c.QueryFn(ctx, `SELECT byte_offset, data FROM task_log`+w.clause()+` ORDER BY byte_offset`, w.args, false,
		func(rows Rows) error {
			chunk = &store.TaskLogChunk{NextOffset: p.Offset}
			for rows.Next() && len(chunk.Data) < p.Limit {
				var off int64
				var data []byte
				if err := rows.Scan(&off, &data); err != nil {
					return err
				}
				chunk.Data = store.AppendLog(chunk.Data, &chunk.NextOffset, off, data, p.Limit)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read log of %s: %w", k, err)
	}
	return chunk, nil
}

// XComSet is store.Store.XComSet over a store's Conn.
func (m Methods) XComSet(ctx context.Context, p *store.XComSetParams) error {
	c := m.c
	val, err := p.Encode()
	if err != nil {
		return err
	}
	k := p.TaskInstanceKey
	err = c.Exec(ctx, `INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value, updated_at)
		VALUES (`+params(c.D, 1, 7)+`) ON CONFLICT (dag_id, run_id, task_id, map_index, key)
		DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		k.DagID, k.RunID, k.TaskID, k.MapIndex, p.Key, val, c.D.Time(now()))
	if err != nil && c.IsForeignKey(err) {
		return fmt.Errorf("set xcom %q: task instance %s: %w", p.Key, k, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("set xcom %q of %s: %w", p.Key, k, err)
	}
	return nil
}

// XComGet is store.Store.XComGet over a store's Conn: a value that is not
// JSON is an error wrapping store.ErrCorrupt.
func (m Methods) XComGet(ctx context.Context, p *store.XComGetParams) (*store.XCom, error) {
	c := m.c
	k := p.TaskInstanceKey
	w := keyWhere(c.D, k)
	w.eq("key", p.Key)
	var x *store.XCom
	err := c.ScanRow(ctx, `SELECT `+XComColumns+` FROM xcom`+w.clause(), w.args, func(r Scanner) error {
		var err error
		x, err = ScanXCom(r)
		return err
	})
	if errors.Is(err, ErrNoRows) {
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

// XComList is store.Store.XComList over a store's Conn.
func (m Methods) XComList(ctx context.Context, p *store.XComListParams) ([]*store.XCom, error) {
	c := m.c
	w := &where{d: c.D}
	w.eq("dag_id", p.DagID)
	w.eq("run_id", p.RunID)
	if p.TaskID != "" {
		w.eq("task_id", p.TaskID)
		if p.MapIndex != nil {
			w.eq("map_index", *p.MapIndex)
		}
	}
	out, err := QueryAll(ctx, c, `SELECT `+XComColumns+` FROM xcom`+w.clause()+` ORDER BY task_id, map_index, key`, w.args, ScanXCom)
	if err != nil {
		return nil, fmt.Errorf("list xcoms of %s/%s: %w", p.DagID, p.RunID, err)
	}
	return out, nil
}

// XComClear is store.Store.XComClear over a store's Conn.
func (m Methods) XComClear(ctx context.Context, k store.TaskInstanceKey) (int, error) {
	c := m.c
	q, args := xcomClear(c.D, k)
	n, err := c.ExecCount(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("clear xcoms of %s: %w", k, err)
	}
	return int(n), nil
}

// VariableSet is store.Store.VariableSet over a store's Conn: a secret
// value is sealed with the store's cipher.
func (m Methods) VariableSet(ctx context.Context, p *store.VariableSetParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	val := p.Value
	if p.Secret {
		var err error
		if val, err = store.Seal(m.secrets, fmt.Sprintf("variable %q", p.Key), p.Value); err != nil {
			return err
		}
	}
	err := c.Exec(ctx, `INSERT INTO variable (key, value, description, is_encrypted, updated_at)
		VALUES (`+params(c.D, 1, 5)+`) ON CONFLICT (key) DO UPDATE SET value = excluded.value,
		description = excluded.description, is_encrypted = excluded.is_encrypted, updated_at = excluded.updated_at`,
		p.Key, val, p.Description, c.D.Bool(p.Secret), c.D.Time(now()))
	if err != nil {
		return fmt.Errorf("set variable %q: %w", p.Key, err)
	}
	return nil
}

// variableCols are the columns scanVariable reads, in order.
const variableCols = `key, value, description, is_encrypted, updated_at`

// scanVariable reads a variable as stored (its value still sealed when
// secret).
func scanVariable(r Scanner) (*store.Variable, error) {
	var v store.Variable
	err := r.Scan(&v.Key, &v.Value, &v.Description, &v.Secret, At(&v.UpdatedAt))
	return &v, err
}

// openVariable unseals a secret variable's value.
func (m Methods) openVariable(v *store.Variable) error {
	if !v.Secret {
		return nil
	}
	plain, err := store.Unseal(m.secrets, fmt.Sprintf("variable %q", v.Key), v.Value)
	if err != nil {
		return err
	}
	v.Value = plain
	return nil
}

// VariableGet is store.Store.VariableGet over a store's Conn: the value
// in plain.
func (m Methods) VariableGet(ctx context.Context, key string) (*store.Variable, error) {
	c := m.c
	var v *store.Variable
	err := c.ScanRow(ctx, `SELECT `+variableCols+` FROM variable WHERE key = `+c.D.Param(1), []any{key}, func(r Scanner) error {
		var err error
		v, err = scanVariable(r)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("variable %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get variable %q: %w", key, err)
	}
	if err := m.openVariable(v); err != nil {
		return nil, err
	}
	return v, nil
}

// VariableList is store.Store.VariableList over a store's Conn.
func (m Methods) VariableList(ctx context.Context) ([]*store.Variable, error) {
	out, err := QueryAll(ctx, m.c, `SELECT `+variableCols+` FROM variable ORDER BY key`, nil, scanVariable)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	for _, v := range out {
		if err := m.openVariable(v); err != nil {
			return nil, fmt.Errorf("list variables: %w", err)
		}
	}
	return out, nil
}

// VariableDelete is store.Store.VariableDelete over a store's Conn.
func (m Methods) VariableDelete(ctx context.Context, key string) error {
	return ExecOne(ctx, m.c, fmt.Sprintf("variable %q", key), `DELETE FROM variable WHERE key = `+m.c.D.Param(1), key)
}

// ConnectionCreate is store.Store.ConnectionCreate over a store's Conn:
// the password is sealed with the store's cipher.
func (m Methods) ConnectionCreate(ctx context.Context, p *store.ConnectionCreateParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	cn := p.Connection
	extra, err := p.EncodeExtra()
	if err != nil {
		return err
	}
	pw := ""
	if cn.Password != "" {
		if pw, err = store.Seal(m.secrets, fmt.Sprintf("password of connection %q", cn.ID), cn.Password); err != nil {
			return err
		}
	}
	rctx, retried := TrackRetry(ctx)
	err = c.Exec(rctx, `INSERT INTO connection (conn_id, conn_type, description, host, port, schema,
		login, password, extra, updated_at) VALUES (`+params(c.D, 1, 10)+`)`,
		cn.ID, cn.Type, p.Description, cn.Host, cn.Port, cn.Schema, cn.Login, pw, extra, c.D.Time(now()))
	if err != nil && c.IsUnique(err) {
		if *retried {
			// A retry after a lost commit finds its own row: the sealed
			// password is unique to this call.
			var stored string
			if c.QueryRow(ctx, `SELECT password FROM connection WHERE conn_id = `+c.D.Param(1), []any{cn.ID}, &stored) == nil &&
				stored == pw && pw != "" {
				return nil
			}
		}
		return fmt.Errorf("connection %q: %w", cn.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create connection %q: %w", cn.ID, err)
	}
	return nil
}

// connCols are the columns scanConnection reads, in order.
const connCols = `conn_id, conn_type, description, host, port, schema, login, password, extra, updated_at`

// rawConnection is a connection as stored: its password sealed, its
// extra JSON text.
type rawConnection struct {
	store.Connection
	extra string
}

func scanConnection(r Scanner) (*rawConnection, error) {
	var c rawConnection
	err := r.Scan(&c.ID, &c.Type, &c.Description, &c.Host, &c.Port, &c.Schema, &c.Login, &c.Password, &c.extra, At(&c.UpdatedAt))
	return &c, err
}

// openConnection decodes a stored connection's extra and unseals its
// password.
func (m Methods) openConnection(raw *rawConnection) (*store.Connection, error) {
	c := raw.Connection
	var err error
	if c.Extra, err = store.DecodeJSONObject(fmt.Sprintf("extra of connection %q", c.ID), raw.extra); err != nil {
		return nil, err
	}
	if c.Password != "" {
		if c.Password, err = store.Unseal(m.secrets, fmt.Sprintf("password of connection %q", c.ID), c.Password); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// ConnectionGet is store.Store.ConnectionGet over a store's Conn: the
// password in plain.
func (m Methods) ConnectionGet(ctx context.Context, connID string) (*store.Connection, error) {
	c := m.c
	var raw *rawConnection
	err := c.ScanRow(ctx, `SELECT `+connCols+` FROM connection WHERE conn_id = `+c.D.Param(1), []any{connID}, func(r Scanner) error {
		var err error
		raw, err = scanConnection(r)
		return err
	})
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("connection %q: %w", connID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get connection %q: %w", connID, err)
	}
	return m.openConnection(raw)
}

// ConnectionList is store.Store.ConnectionList over a store's Conn.
func (m Methods) ConnectionList(ctx context.Context) ([]*store.Connection, error) {
	raws, err := QueryAll(ctx, m.c, `SELECT `+connCols+` FROM connection ORDER BY conn_id`, nil, scanConnection)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out := make([]*store.Connection, 0, len(raws))
	for _, r := range raws {
		c, err := m.openConnection(r)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ConnectionDelete is store.Store.ConnectionDelete over a store's Conn.
func (m Methods) ConnectionDelete(ctx context.Context, connID string) error {
	return ExecOne(ctx, m.c, fmt.Sprintf("connection %q", connID), `DELETE FROM connection WHERE conn_id = `+m.c.D.Param(1), connID)
}

// PoolSet is store.Store.PoolSet over a store's Conn.
func (m Methods) PoolSet(ctx context.Context, p *store.PoolSetParams) error {
	c := m.c
	if err := p.Normalize(); err != nil {
		return err
	}
	if err := c.Exec(ctx, `INSERT INTO pool (name, slots, description) VALUES (`+params(c.D, 1, 3)+`)
		ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, description = excluded.description`,
		p.Name, p.Slots, p.Description); err != nil {
		return fmt.Errorf("set pool %q: %w", p.Name, err)
	}
	return nil
}

// PoolSQL reads pools with the slots their running and queued task
// instances take.
const PoolSQL = `SELECT p.name, p.slots, p.description,
	COALESCE(SUM(CASE WHEN ti.state = 'running' THEN ti.pool_slots END), 0),
	COALESCE(SUM(CASE WHEN ti.state = 'queued' THEN ti.pool_slots END), 0)
	FROM pool p LEFT JOIN task_instance ti ON ti.pool = p.name AND ti.state IN ('running', 'queued')`

func scanPool(r Scanner) (*store.Pool, error) {
	var p store.Pool
	err := r.Scan(&p.Name, &p.Slots, &p.Description, &p.RunningSlots, &p.QueuedSlots)
	return &p, err
}

// PoolGet is store.Store.PoolGet over a store's Conn.
func (m Methods) PoolGet(ctx context.Context, name string) (*store.Pool, error) {
	c := m.c
	var p *store.Pool
	err := c.ScanRow(ctx, PoolSQL+` WHERE p.name = `+c.D.Param(1)+` GROUP BY p.name, p.slots, p.description`, []any{name},
		func(r Scanner) error {
			var err error
			p, err = scanPool(r)
			return err
		})
	if errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("pool %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get pool %q: %w", name, err)
	}
	return p, nil
}

// PoolList is store.Store.PoolList over a store's Conn.
func (m Methods) PoolList(ctx context.Context) ([]*store.Pool, error) {
	out, err := QueryAll(ctx, m.c, PoolSQL+` GROUP BY p.name, p.slots, p.description ORDER BY p.name`, nil, scanPool)
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return out, nil
}

// PoolDelete is store.Store.PoolDelete over a store's Conn; the default
// pool cannot be deleted.
func (m Methods) PoolDelete(ctx context.Context, name string) error {
	if name == store.DefaultPool {
		return fmt.Errorf("pool %q cannot be deleted: %w", name, store.ErrInvalid)
	}
	return ExecOne(ctx, m.c, fmt.Sprintf("pool %q", name), `DELETE FROM pool WHERE name = `+m.c.D.Param(1), name)
}
