package empty

import (
	"context"
	"errors"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

func TestExecute(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		wantErr error
	}{
		{"succeeds without a value", context.Background(), nil},
		{"a cancelled try does not succeed", cancelled, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &operators.Call{Task: dags.NewTask("join", Kind, dags.Pos{})}
			res, err := New().Execute(tt.ctx, c)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.State != dags.TaskStateSuccess || res.ReturnValue != nil || len(res.Skip) != 0 {
				t.Errorf("result = %+v, want plain success", res)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	Register(r)
	op, err := r.Lookup(dags.OperatorEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := op.(*Operator); !ok {
		t.Errorf("registered %T, want *empty.Operator", op)
	}
}
