package localrun_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/localrun"
)

func benchDAG(b *testing.B, kind string, n int, chain bool) *dags.DAG {
	b.Helper()
	d := dags.New("bench", dags.Pos{File: "bench.star", Line: 1})
	for i := 0; i < n; i++ {
		d.AddTask(dags.NewTask(fmt.Sprintf("t%04d", i), kind, dags.Pos{File: "bench.star", Line: i + 2}))
		if chain && i > 0 {
			d.Connect(fmt.Sprintf("t%04d", i-1), fmt.Sprintf("t%04d", i), dags.Pos{})
		}
	}
	if fs := d.Finalize(); len(fs) > 0 {
		b.Fatal(fs)
	}
	return d
}

func benchRun(b *testing.B, d *dags.DAG, runner *executor.TryRunner) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
		if err != nil || res.State != dags.DagRunStateSuccess {
			b.Fatalf("run: %v %v", err, res.State)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
}

// BenchmarkChainEmpty1000 is the engine's overhead for a 1,000-task chain
// of empty tasks (target: under 100 ms a run).
func BenchmarkChainEmpty1000(b *testing.B) {
	reg := operators.NewRegistry()
	benchRun(b, benchDAG(b, dags.OperatorEmpty, 1000, true), &executor.TryRunner{Registry: reg})
}

// BenchmarkFanOutOperator1000 runs 1,000 independent tasks of a no-op Go
// operator: the cost of dispatching tries to workers.
func BenchmarkFanOutOperator1000(b *testing.B) {
	reg := operators.NewRegistry()
	reg.Register("noop", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(nil), nil
	}))
	benchRun(b, benchDAG(b, "noop", 1000, false), &executor.TryRunner{Registry: reg})
}

// BenchmarkChainOperator1000 runs a 1,000-task chain of a no-op Go
// operator: one worker hand-off per task.
func BenchmarkChainOperator1000(b *testing.B) {
	reg := operators.NewRegistry()
	reg.Register("noop", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(nil), nil
	}))
	benchRun(b, benchDAG(b, "noop", 1000, true), &executor.TryRunner{Registry: reg})
}
