package scheduler

import (
	"context"

	"github.com/starflow-dev/starflow/dags"
)

// DAGSource returns the DAG a run is pinned to: dagID as built from the
// stored source version sourceHash. Implementations parse each version once
// and cache it (starlark/call's version cache).
type DAGSource interface {
	DAG(ctx context.Context, dagID, sourceHash string) (*dags.DAG, error)
}
