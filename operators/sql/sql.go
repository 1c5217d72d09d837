package sql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/starflow-dev/starflow/operators"
)

// Kind is the operator kind of sql tasks.
const Kind = "sql"

// Fetch modes: what the XCom of an sql task holds.
const (
	FetchNone = "none" // nothing
	FetchOne  = "one"  // the first row of the last statement, or None
	FetchAll  = "all"  // every row of the last statement
)

// Operator runs SQL statements against PostgreSQL. The zero value is
// ready to use and opens a connection per try.
type Operator struct {
	// Pools, when set, gives tries pooled connections instead; the
	// program that owns it closes it.
	Pools *Pools
}

var (
	_ operators.Operator  = (*Operator)(nil)
	_ operators.Specified = (*Operator)(nil)
)

// New returns an sql operator that opens a connection per try.
func New() *Operator { return &Operator{} }

// Register adds a new sql operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// RegisterPooled adds an sql operator whose tries take their connections
// from pools (nil: a connection per try) to r under Kind.
func RegisterPooled(r *operators.Registry, pools *Pools) { r.Register(Kind, &Operator{Pools: pools}) }

// Spec describes the arguments of sql tasks.
func (*Operator) Spec() operators.Spec {
	return operators.Spec{
		Kind:        Kind,
		Doc:         "Runs SQL statements on PostgreSQL; the rows of the last one are the XCom.",
		Positional:  1,
		TemplateExt: []string{".sql"},
		Params: []operators.Param{
			{Name: "sql", Type: operators.ParamStringOrList, Required: true, Templated: true, XCom: true,
				Doc: "a statement, or a list of statements run in order; templates (or t.output)"},
			{Name: "conn_id", Type: operators.ParamString, Required: true,
				Doc: "the postgres connection (host, port, schema as the database, login, password, extras as libpq parameters)"},
			{Name: "parameters", Type: operators.ParamAny, Templated: true, XCom: true,
				Doc: "a list for $1, $2, ... or a dict for @name placeholders, passed to every statement; t.output as the whole value or as items"},
			{Name: "fetch", Type: operators.ParamString, Default: FetchAll, Choices: []string{FetchNone, FetchOne, FetchAll},
				Doc: "what the XCom holds: all rows of the last statement, the first one, or none"},
			{Name: "as_dict", Type: operators.ParamBool, Default: false,
				Doc: "rows as dicts keyed by column name instead of lists"},
			{Name: "autocommit", Type: operators.ParamBool, Default: false,
				Doc: "commit each statement on its own instead of running them all in one transaction"},
			{Name: "statement_timeout", Type: operators.ParamDuration,
				Doc: "PostgreSQL's statement_timeout for each statement"},
		},
	}
}

// Execute runs the task's statements on a connection of its own, or a
// pooled one when o.Pools is set. A
// PostgreSQL error fails the try (retries apply) with its SQLSTATE code
// and message in the log; a malformed task fails it for good.
func (o *Operator) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil {
		return nil, operators.Fail(errors.New("sql: the call has no task"))
	}
	spec := o.Spec()
	args, err := spec.Args(c.Task.Config)
	if err != nil {
		return nil, err
	}
	if err := args.Render(ctx, c); err != nil {
		return nil, err
	}
	if err := args.Resolve(ctx, c); err != nil {
		return nil, err
	}
	stmts := args.Strings("sql")
	if len(stmts) == 0 {
		return nil, operators.Fail(errors.New("sql: no statement to run"))
	}
	for i, s := range stmts {
		if strings.TrimSpace(s) == "" {
			return nil, operators.Fail(fmt.Errorf("sql: statement %d is empty", i+1))
		}
	}
	params, err := queryArgs(args.Value("parameters"))
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("sql: parameters: %w", err))
	}
	connID := args.String("conn_id")
	pc, release, err := o.Pools.Session(ctx, c, connID)
	if err != nil {
		return nil, fmt.Errorf("sql: %w", err)
	}
	defer release()
	c.Logf("Connected to %s through connection %s", pc.Config().Database, connID)

	run := &runner{call: c, params: params, fetch: args.String("fetch"), asDict: args.Bool("as_dict")}
	var q querier = pc
	var tx pgx.Tx
	timeout := args.Duration("statement_timeout")
	if args.Bool("autocommit") {
		if timeout > 0 {
			if _, err := pc.Exec(ctx, fmt.Sprintf("SET statement_timeout = %d", timeout.Milliseconds())); err != nil {
				return nil, run.fail("set statement_timeout", err)
			}
		}
	} else {
		if tx, err = pc.Begin(ctx); err != nil {
			return nil, run.fail("begin", err)
		}
		defer rollback(tx) // a no-op once committed
		q = tx
		if timeout > 0 {
			if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", timeout.Milliseconds())); err != nil {
				return nil, run.fail("set statement_timeout", err)
			}
		}
	}
	var result any
	for i, stmt := range stmts {
		last := i == len(stmts)-1
		c.Logf("Running statement %d of %d: %s", i+1, len(stmts), stmt)
		res, err := run.statement(ctx, q, stmt, last)
		if err != nil {
			return nil, run.fail(fmt.Sprintf("statement %d", i+1), err)
		}
		if last {
			result = res
		}
	}
	if tx != nil {
		if err := tx.Commit(ctx); err != nil {
			return nil, run.fail("commit", err)
		}
		c.Logf("Committed")
	}
	return operators.Success(result), nil
}

// rollback ends tx if it was not committed, with a bounded context of its
// own so that a cancelled try still ends its transaction.
func rollback(tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// querier is a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error)
}

// bind returns the arguments of one statement. The same parameters go to
// every statement of a task, as in Airflow, but a statement without
// placeholders (a CREATE TABLE before an INSERT) gets none: a dict is
// rewritten from @name to $n placeholders, and a list is checked against
// the prepared statement's parameter count. Without arguments the simple
// protocol runs the text as given, so one string may also hold several
// statements separated by semicolons (a script).
func bind(ctx context.Context, q querier, stmt string, params []any) (string, []any, error) {
	if len(params) == 0 {
		return stmt, []any{pgx.QueryExecModeSimpleProtocol}, nil
	}
	if na, ok := params[0].(pgx.NamedArgs); ok && len(params) == 1 {
		sql, args, err := na.RewriteQuery(ctx, nil, stmt, nil)
		if err != nil {
			return "", nil, err
		}
		if len(args) == 0 {
			return stmt, []any{pgx.QueryExecModeSimpleProtocol}, nil
		}
		return sql, args, nil
	}
	sd, err := q.Prepare(ctx, stmt, stmt)
	if err != nil {
		return "", nil, err
	}
	if len(sd.ParamOIDs) == 0 {
		return stmt, nil, nil
	}
	return stmt, params, nil
}

// runner runs the statements of one try.
type runner struct {
	call   *operators.Call
	params []any
	fetch  string
	asDict bool
}

// statement runs one statement and, when it is the last one, returns what
// fetch asks for.
func (r *runner) statement(ctx context.Context, q querier, stmt string, last bool) (any, error) {
	stmt, args, err := bind(ctx, q, stmt, r.params)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, stmt, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	want := last && r.fetch != FetchNone && len(rows.FieldDescriptions()) > 0
	var out []any
	for rows.Next() {
		if !want || (r.fetch == FetchOne && len(out) == 1) {
			continue
		}
		row, err := readRow(rows, r.asDict)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tag := rows.CommandTag()
	r.call.Logf("%s: %d rows", tag.String(), tag.RowsAffected())
	switch {
	case !want:
		return nil, nil
	case r.fetch == FetchOne:
		if len(out) == 0 {
			return nil, nil
		}
		return out[0], nil
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// fail logs a PostgreSQL error with its code, detail and hint, and
// returns it with what was being done.
func (r *runner) fail(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		r.call.Logf("PostgreSQL error %s: %s", pe.Code, pe.Message)
		if pe.Detail != "" {
			r.call.Logf("DETAIL: %s", pe.Detail)
		}
		if pe.Hint != "" {
			r.call.Logf("HINT: %s", pe.Hint)
		}
		if pe.Position > 0 {
			r.call.Logf("at character %d", pe.Position)
		}
	}
	return fmt.Errorf("sql: %s: %w", what, err)
}

// queryArgs reads parameters: nil, a list (for $1, $2, ...) or a dict (for
// @name placeholders).
func queryArgs(v any) ([]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		return x, nil
	case map[string]any:
		return []any{pgx.NamedArgs(x)}, nil
	}
	return nil, fmt.Errorf("got %T, want a list or a dict", v)
}

// Query runs one statement on connection connID and returns its rows as
// dicts keyed by column name. parameters is nil, a list or a dict, as for
// the operator. It opens a connection of its own; Pools.Query shares one.
func Query(ctx context.Context, c *operators.Call, connID, query string, parameters any) ([]map[string]any, error) {
	return (*Pools)(nil).Query(ctx, c, connID, query, parameters)
}

// Query is the package's Query on a connection of the pools (a new one
// when p is nil).
func (p *Pools) Query(ctx context.Context, c *operators.Call, connID, query string, parameters any) ([]map[string]any, error) {
	params, err := queryArgs(parameters)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	pc, release, err := p.Session(ctx, c, connID)
	if err != nil {
		return nil, err
	}
	defer release()
	query, args, err := bind(ctx, pc, query, params)
	if err != nil {
		return nil, err
	}
	rows, err := pc.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []map[string]any{}
	for rows.Next() {
		row, err := readRow(rows, true)
		if err != nil {
			return nil, err
		}
		out = append(out, row.(map[string]any))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// QueryFirstRow runs one statement on connection connID and returns its
// first row as a list of values in column order, converted as the
// operator converts them, or nil when the statement returned no row.
// parameters is nil, a list or a dict, as for the operator. It is what
// sql_sensor pokes with.
func QueryFirstRow(ctx context.Context, c *operators.Call, connID, query string, parameters any) ([]any, error) {
	params, err := queryArgs(parameters)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	pc, err := Connect(ctx, c, connID)
	if err != nil {
		return nil, err
	}
	defer closeConn(pc)
	query, args, err := bind(ctx, pc, query, params)
	if err != nil {
		return nil, err
	}
	rows, err := pc.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var first []any
	if rows.Next() {
		row, err := readRow(rows, false)
		if err != nil {
			return nil, err
		}
		first = row.([]any)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return first, nil
}

// Exec runs one statement on connection connID and returns the number of
// rows it affected. parameters is nil, a list or a dict. It opens a
// connection of its own; Pools.Exec shares one.
func Exec(ctx context.Context, c *operators.Call, connID, query string, parameters any) (int64, error) {
	return (*Pools)(nil).Exec(ctx, c, connID, query, parameters)
}

// Exec is the package's Exec on a connection of the pools (a new one when
// p is nil).
func (p *Pools) Exec(ctx context.Context, c *operators.Call, connID, query string, parameters any) (int64, error) {
	params, err := queryArgs(parameters)
	if err != nil {
		return 0, fmt.Errorf("parameters: %w", err)
	}
	pc, release, err := p.Session(ctx, c, connID)
	if err != nil {
		return 0, err
	}
	defer release()
	query, args, err := bind(ctx, pc, query, params)
	if err != nil {
		return 0, err
	}
	tag, err := pc.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
