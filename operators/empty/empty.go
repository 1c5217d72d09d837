package empty

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Kind is the operator kind of empty tasks.
const Kind = dags.OperatorEmpty

// Operator does nothing and succeeds. The zero value is ready to use.
type Operator struct{}

var _ operators.Operator = (*Operator)(nil)

// New returns an empty operator.
func New() *Operator { return &Operator{} }

// Register adds an empty operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// Execute succeeds without a return value, unless ctx is already done (a
// try that was cancelled before it ran does not claim success).
func (*Operator) Execute(ctx context.Context, _ *operators.Call) (*operators.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("empty: %w", err)
	}
	return operators.Success(nil), nil
}
