package sensors

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
)

// SQLKind is the operator kind of SQL sensors.
const SQLKind = "sql_sensor"

// SQLSensor waits for a query's first cell to be truthy, as Airflow's
// SqlSensor: no row, NULL, false, 0 or "" mean "not yet".
type SQLSensor struct{ Base }

var (
	_ operators.Operator  = (*SQLSensor)(nil)
	_ operators.Specified = (*SQLSensor)(nil)
)

// Spec describes the arguments of SQL sensors.
func (*SQLSensor) Spec() operators.Spec {
	return newSpec(SQLKind, "Waits for the first cell of a query's first row to be truthy.", 1,
		operators.Param{Name: "sql", Type: operators.ParamString, Required: true, Templated: true,
			Doc: "the query, a template"},
		operators.Param{Name: "conn_id", Type: operators.ParamString, Required: true,
			Doc: "the postgres connection, as for sql"},
		operators.Param{Name: "parameters", Type: operators.ParamAny, Templated: true,
			Doc: "a list for $1, $2, ... or a dict for @name placeholders"},
		operators.Param{Name: "fail_on_empty", Type: operators.ParamBool, Default: false,
			Doc: "fail (without retrying) when the query returns no row, instead of waiting"},
	)
}

// Execute pokes with the query until its first cell is truthy.
func (s *SQLSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	query := a.String("sql")
	if strings.TrimSpace(query) == "" {
		return nil, operators.Fail(errors.New("sql_sensor: sql is empty"))
	}
	connID := a.String("conn_id")
	failOnEmpty := a.Bool("fail_on_empty")
	return s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
		row, err := sqlop.QueryFirstRow(ctx, c, connID, query, a.Value("parameters"))
		if err != nil {
			return false, fmt.Errorf("sql_sensor: %w", err)
		}
		if len(row) == 0 {
			if failOnEmpty {
				return false, operators.Fail(errors.New("sql_sensor: the query returned no row (fail_on_empty)"))
			}
			c.Logf("Poking with SQL on %s: no row: not yet", connID)
			return false, nil
		}
		if !operators.Truthy(row[0]) {
			c.Logf("Poking with SQL on %s: first cell is %s: not yet", connID, operators.PyRepr(row[0]))
			return false, nil
		}
		c.Logf("Poking with SQL on %s: first cell is %s: done", connID, operators.PyRepr(row[0]))
		return true, nil
	})
}
