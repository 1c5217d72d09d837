package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// TaskLogAppend appends to a try's log and returns its new size. Two
// appenders racing for the same offset are resolved by the primary key:
// the loser reads the new size and appends after it.
func (s *Store) TaskLogAppend(ctx context.Context, p *store.TaskLogAppendParams) (int64, error) {
	if err := p.Normalize(); err != nil {
		return 0, err
	}
	k := p.Key
	var size int64
	prev := int64(-1) // offset the previous attempt wrote at, if any
	for conflicts := 0; ; conflicts++ {
		err := s.inTx(ctx, func(tx pgx.Tx, attempt int) error {
			if attempt > 0 && prev >= 0 {
				// The previous attempt may have committed: if our chunk
				// is there, it did.
				var data []byte
				err := tx.QueryRow(ctx, `SELECT data FROM task_log WHERE dag_id = $1 AND run_id = $2 AND task_id = $3
					AND map_index = $4 AND try_number = $5 AND byte_offset = $6`,
					k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber, prev).Scan(&data)
				if err == nil && bytes.Equal(data, p.Data) {
					size = prev + int64(len(p.Data))
					return nil
				}
			}
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(byte_offset + octet_length(data)), 0) FROM task_log
				WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5`,
				k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber).Scan(&size); err != nil {
				return err
			}
			if len(p.Data) == 0 {
				return nil
			}
			prev = size
			if _, err := tx.Exec(ctx, `INSERT INTO task_log (dag_id, run_id, task_id, map_index, try_number, byte_offset, data)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber, size, p.Data); err != nil {
				return err
			}
			size += int64(len(p.Data))
			return nil
		})
		switch {
		case err == nil:
			return size, nil
		case isUnique(err) && conflicts < 10:
			prev = -1
			continue
		case isForeignKey(err):
			return 0, fmt.Errorf("append to log: task instance %s: %w", k, store.ErrNotFound)
		default:
			return 0, fmt.Errorf("append to log of %s: %w", k, err)
		}
	}
}

// TaskLogRead reads a try's log from an offset.
func (s *Store) TaskLogRead(ctx context.Context, p *store.TaskLogReadParams) (*store.TaskLogChunk, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	k := p.Key
	var chunk *store.TaskLogChunk
	err := s.do(ctx, func(int) error {
		chunk = &store.TaskLogChunk{NextOffset: p.Offset}
		rows, err := s.pool.Query(ctx, `SELECT byte_offset, data FROM task_log
			WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND try_number = $5
			AND byte_offset + octet_length(data) > $6 ORDER BY byte_offset`,
			k.DagID, k.RunID, k.TaskID, k.MapIndex, p.TryNumber, p.Offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() && len(chunk.Data) < p.Limit {
			var off int64
			var data []byte
			if err := rows.Scan(&off, &data); err != nil {
				return err
			}
			chunk.Data = store.AppendLog(chunk.Data, &chunk.NextOffset, off, data, p.Limit)
		}
		return rows.Err()
	})
	if err != nil {
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
	err = s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO xcom (dag_id, run_id, task_id, map_index, key, value, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dag_id, run_id, task_id, map_index, key)
			DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			k.DagID, k.RunID, k.TaskID, k.MapIndex, p.Key, val, now())
		return err
	})
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
	var x *store.XCom
	err := s.do(ctx, func(int) error {
		var err error
		x, err = sqlq.ScanXCom(s.pool.QueryRow(ctx, `SELECT `+sqlq.XComColumns+` FROM xcom
			WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND key = $5`,
			k.DagID, k.RunID, k.TaskID, k.MapIndex, p.Key))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
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
	var b builder
	b.add("dag_id = ?", p.DagID)
	b.add("run_id = ?", p.RunID)
	if p.TaskID != "" {
		b.add("task_id = ?", p.TaskID)
		if p.MapIndex != nil {
			b.add("map_index = ?", *p.MapIndex)
		}
	}
	var out []*store.XCom
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT `+sqlq.XComColumns+` FROM xcom`+b.where()+` ORDER BY task_id, map_index, key`, b.args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, func(r pgx.Row) (*store.XCom, error) { return sqlq.ScanXCom(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list xcoms of %s/%s: %w", p.DagID, p.RunID, err)
	}
	return out, nil
}

// XComClear deletes the XComs of one task instance.
func (s *Store) XComClear(ctx context.Context, k store.TaskInstanceKey) (int, error) {
	var n int64
	err := s.do(ctx, func(int) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4`,
			k.DagID, k.RunID, k.TaskID, k.MapIndex)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("clear xcoms of %s: %w", k, err)
	}
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
	err := s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO variable (key, value, description, is_encrypted, updated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET value = excluded.value,
			description = excluded.description, is_encrypted = excluded.is_encrypted, updated_at = excluded.updated_at`,
			p.Key, val, p.Description, p.Secret, now())
		return err
	})
	if err != nil {
		return fmt.Errorf("set variable %q: %w", p.Key, err)
	}
	return nil
}

// rawVariable is a variable as stored, before decryption.
type rawVariable struct {
	store.Variable
}

func scanRawVariable(r pgx.Row) (*rawVariable, error) {
	var v rawVariable
	var ua *time.Time
	if err := r.Scan(&v.Key, &v.Value, &v.Description, &v.Secret, &ua); err != nil {
		return nil, err
	}
	v.UpdatedAt = tget(ua)
	return &v, nil
}

func (s *Store) openVariable(v *rawVariable) (*store.Variable, error) {
	out := v.Variable
	if out.Secret {
		plain, err := store.Unseal(s.secrets, fmt.Sprintf("variable %q", out.Key), out.Value)
		if err != nil {
			return nil, err
		}
		out.Value = plain
	}
	return &out, nil
}

// VariableGet returns a variable with its plain value.
func (s *Store) VariableGet(ctx context.Context, key string) (*store.Variable, error) {
	var raw *rawVariable
	err := s.do(ctx, func(int) error {
		var err error
		raw, err = scanRawVariable(s.pool.QueryRow(ctx, `SELECT key, value, description, is_encrypted, updated_at
			FROM variable WHERE key = $1`, key))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("variable %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get variable %q: %w", key, err)
	}
	return s.openVariable(raw)
}

// VariableList returns every variable.
func (s *Store) VariableList(ctx context.Context) ([]*store.Variable, error) {
	var raws []*rawVariable
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT key, value, description, is_encrypted, updated_at FROM variable ORDER BY key`)
		if err != nil {
			return err
		}
		raws, err = scanAll(rows, scanRawVariable)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	out := make([]*store.Variable, 0, len(raws))
	for _, r := range raws {
		v, err := s.openVariable(r)
		if err != nil {
			return nil, fmt.Errorf("list variables: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// VariableDelete deletes a variable.
func (s *Store) VariableDelete(ctx context.Context, key string) error {
	return s.execOne(ctx, fmt.Sprintf("variable %q", key), `DELETE FROM variable WHERE key = $1`, key)
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
	retried := false
	err = s.do(ctx, func(attempt int) error {
		retried = attempt > 0
		_, err := s.pool.Exec(ctx, `INSERT INTO connection (conn_id, conn_type, description, host, port, schema,
			login, password, extra, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.ID, c.Type, p.Description, c.Host, c.Port, c.Schema, c.Login, pw, extra, now())
		return err
	})
	if isUnique(err) {
		if retried {
			// A retry after a lost commit finds its own row: the sealed
			// password is unique to this call.
			var stored string
			if s.pool.QueryRow(ctx, `SELECT password FROM connection WHERE conn_id = $1`, c.ID).Scan(&stored) == nil && stored == pw && pw != "" {
				return nil
			}
		}
		return fmt.Errorf("connection %q: %w", c.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create connection %q: %w", c.ID, err)
	}
	return nil
}

const connCols = `conn_id, conn_type, description, host, port, schema, login, password, extra, updated_at`

type rawConnection struct {
	store.Connection
	extra string
}

func scanRawConnection(r pgx.Row) (*rawConnection, error) {
	var c rawConnection
	var ua *time.Time
	if err := r.Scan(&c.ID, &c.Type, &c.Description, &c.Host, &c.Port, &c.Schema, &c.Login, &c.Password, &c.extra, &ua); err != nil {
		return nil, err
	}
	c.UpdatedAt = tget(ua)
	return &c, nil
}

func (s *Store) openConnection(raw *rawConnection) (*store.Connection, error) {
	c := raw.Connection
	var err error
	if c.Extra, err = store.DecodeJSONObject(fmt.Sprintf("extra of connection %q", c.ID), raw.extra); err != nil {
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
	var raw *rawConnection
	err := s.do(ctx, func(int) error {
		var err error
		raw, err = scanRawConnection(s.pool.QueryRow(ctx, `SELECT `+connCols+` FROM connection WHERE conn_id = $1`, connID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("connection %q: %w", connID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get connection %q: %w", connID, err)
	}
	return s.openConnection(raw)
}

// ConnectionList returns every connection.
func (s *Store) ConnectionList(ctx context.Context) ([]*store.Connection, error) {
	var raws []*rawConnection
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, `SELECT `+connCols+` FROM connection ORDER BY conn_id`)
		if err != nil {
			return err
		}
		raws, err = scanAll(rows, scanRawConnection)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out := make([]*store.Connection, 0, len(raws))
	for _, r := range raws {
		c, err := s.openConnection(r)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ConnectionDelete deletes a connection.
func (s *Store) ConnectionDelete(ctx context.Context, connID string) error {
	return s.execOne(ctx, fmt.Sprintf("connection %q", connID), `DELETE FROM connection WHERE conn_id = $1`, connID)
}

// PoolSet creates or resizes a pool.
func (s *Store) PoolSet(ctx context.Context, p *store.PoolSetParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	err := s.do(ctx, func(int) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO pool (name, slots, description) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET slots = excluded.slots, description = excluded.description`,
			p.Name, p.Slots, p.Description)
		return err
	})
	if err != nil {
		return fmt.Errorf("set pool %q: %w", p.Name, err)
	}
	return nil
}

const poolSQL = `SELECT p.name, p.slots, p.description,
	COALESCE(SUM(ti.pool_slots) FILTER (WHERE ti.state = 'running'), 0),
	COALESCE(SUM(ti.pool_slots) FILTER (WHERE ti.state = 'queued'), 0)
	FROM pool p LEFT JOIN task_instance ti ON ti.pool = p.name AND ti.state IN ('running', 'queued')`

func scanPool(r pgx.Row) (*store.Pool, error) {
	var p store.Pool
	var running, queued int64
	if err := r.Scan(&p.Name, &p.Slots, &p.Description, &running, &queued); err != nil {
		return nil, err
	}
	p.RunningSlots, p.QueuedSlots = int(running), int(queued)
	return &p, nil
}

// PoolGet returns a pool with its occupancy.
func (s *Store) PoolGet(ctx context.Context, name string) (*store.Pool, error) {
	var p *store.Pool
	err := s.do(ctx, func(int) error {
		var err error
		p, err = scanPool(s.pool.QueryRow(ctx, poolSQL+` WHERE p.name = $1 GROUP BY p.name, p.slots, p.description`, name))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pool %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get pool %q: %w", name, err)
	}
	return p, nil
}

// PoolList returns every pool with its occupancy.
func (s *Store) PoolList(ctx context.Context) ([]*store.Pool, error) {
	var out []*store.Pool
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, poolSQL+` GROUP BY p.name, p.slots, p.description ORDER BY p.name`)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanPool)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	return out, nil
}

// PoolDelete deletes a pool.
func (s *Store) PoolDelete(ctx context.Context, name string) error {
	if name == store.DefaultPool {
		return fmt.Errorf("pool %q cannot be deleted: %w", name, store.ErrInvalid)
	}
	return s.execOne(ctx, fmt.Sprintf("pool %q", name), `DELETE FROM pool WHERE name = $1`, name)
}
