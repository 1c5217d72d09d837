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

// BenchmarkMapped1000 runs a task mapped over the 1,000-item list its
// upstream returns, then a task that gets the 1,000 collected results: the
// cost of expansion, per-index dispatch and collection.
func BenchmarkMapped1000(b *testing.B) {
	reg := operators.NewRegistry()
	items := make([]any, 1000)
	for i := range items {
		items[i] = int64(i)
	}
	reg.Register("src", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(items), nil
	}))
	reg.Register("double", operators.OperatorFunc(func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		return operators.Success(c.Task.Config["x"].(int64) * 2), nil
	}))
	var got int
	reg.Register("sum", operators.OperatorFunc(func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
		v, _, err := c.XCom.Pull(ctx, "each", "return_value")
		got = len(v.([]any))
		return operators.Success(nil), err
	}))
	d := dags.New("bench", dags.Pos{File: "bench.star", Line: 1})
	d.AddTask(dags.NewTask("src", "src", dags.Pos{}))
	each := dags.NewTask("each", "double", dags.Pos{})
	each.Config["x"] = int64(0)
	each.Expand = []dags.MapArg{{Name: "x", Value: dags.XComRef{TaskID: "src", Key: "return_value"}}}
	d.AddTask(each)
	d.AddTask(dags.NewTask("sum", "sum", dags.Pos{}))
	d.Connect("src", "each", dags.Pos{})
	d.Connect("each", "sum", dags.Pos{})
	if fs := d.Finalize(); len(fs) > 0 {
		b.Fatal(fs)
	}
	benchRun(b, d, &executor.TryRunner{Registry: reg})
	if got != 1000 {
		b.Fatalf("sum saw %d collected values, want 1000", got)
	}
}
