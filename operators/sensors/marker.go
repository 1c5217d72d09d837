package sensors

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// ExternalTaskMarkerKind is the operator kind of external task markers.
const ExternalTaskMarkerKind = dags.OperatorExternalTaskMarker

// DefaultRecursionDepth is how many DAGs deep a clear follows markers by
// default, as in Airflow.
const DefaultRecursionDepth = 10

// ExternalTaskMarker is Airflow's ExternalTaskMarker: it does nothing when
// it runs. When it is cleared with its downstream tasks, the clear goes on
// to task external_task_id of DAG external_dag_id in the run with the same
// logical date, with that task's downstream, and from markers there on,
// at most recursion_depth DAGs deep (scheduler.Clear).
type ExternalTaskMarker struct{}

var (
	_ operators.Operator  = (*ExternalTaskMarker)(nil)
	_ operators.Specified = (*ExternalTaskMarker)(nil)
)

// Spec describes the arguments of external task markers.
func (*ExternalTaskMarker) Spec() operators.Spec {
	return operators.Spec{Kind: ExternalTaskMarkerKind, Positional: 2,
		Doc: "Does nothing when it runs; clearing it with its downstream clears a task of another DAG in the run of the same logical date.",
		Params: []operators.Param{
			{Name: "external_dag_id", Type: operators.ParamString, Required: true, Doc: "the other DAG's id"},
			{Name: "external_task_id", Type: operators.ParamString, Required: true, Doc: "the task of the other DAG that a clear of this one clears"},
			{Name: "recursion_depth", Type: operators.ParamInt, Default: int64(DefaultRecursionDepth),
				Doc: "how many DAGs deep a clear may follow markers from here; beyond it the clear is an error"},
		},
		Check: func(config map[string]any) error {
			if d, ok := config["recursion_depth"].(int64); ok && d <= 0 {
				return fmt.Errorf("recursion_depth should be a positive integer, got %d", d)
			}
			return nil
		},
	}
}

// Execute does nothing, as Airflow's marker (an EmptyOperator).
func (*ExternalTaskMarker) Execute(ctx context.Context, _ *operators.Call) (*operators.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("external_task_marker: %w", err)
	}
	return operators.Success(nil), nil
}
