package dags

import (
	"fmt"
	"testing"
	"time"
)

// chainDAG builds t0000 >> t0001 >> ... with n tasks, not finalized.
func chainDAG(n int) *DAG {
	d := New("chain", Pos{File: "chain.star", Line: 1})
	for i := range n {
		d.AddTask(NewTask(fmt.Sprintf("t%04d", i), OperatorEmpty, Pos{File: "chain.star", Line: i + 2}))
		if i > 0 {
			d.Connect(fmt.Sprintf("t%04d", i-1), fmt.Sprintf("t%04d", i), Pos{File: "chain.star", Line: i + 2})
		}
	}
	return d
}

// fanOutDAG builds root >> (t0001 ... t<n-1>), not finalized.
func fanOutDAG(n int) *DAG {
	d := New("fan", Pos{File: "fan.star", Line: 1})
	d.AddTask(NewTask("root", OperatorEmpty, Pos{File: "fan.star", Line: 2}))
	for i := 1; i < n; i++ {
		id := fmt.Sprintf("t%04d", i)
		d.AddTask(NewTask(id, OperatorEmpty, Pos{File: "fan.star", Line: i + 2}))
		d.Connect("root", id, Pos{File: "fan.star", Line: i + 2})
	}
	return d
}

func benchFinalize(b *testing.B, mk func(int) *DAG) {
	for b.Loop() {
		b.StopTimer()
		d := mk(1000)
		b.StartTimer()
		if f := d.Finalize(); len(f) > 0 {
			b.Fatal(f)
		}
	}
}

func BenchmarkFinalizeChain1000(b *testing.B)  { benchFinalize(b, chainDAG) }
func BenchmarkFinalizeFanOut1000(b *testing.B) { benchFinalize(b, fanOutDAG) }

func BenchmarkBuildAndFinalizeChain1000(b *testing.B) {
	for b.Loop() {
		if f := chainDAG(1000).Finalize(); len(f) > 0 {
			b.Fatal(f)
		}
	}
}

func benchWeights(b *testing.B, d *DAG, mixed bool) {
	if mixed {
		for i, t := range d.Tasks() {
			t.PriorityWeight = i % 7
		}
	}
	if f := d.Finalize(); len(f) > 0 {
		b.Fatal(f)
	}
	for b.Loop() {
		if w := d.PriorityWeights(); len(w) != d.Len() {
			b.Fatal(len(w))
		}
	}
}

func BenchmarkPriorityWeightsChain1000(b *testing.B)      { benchWeights(b, chainDAG(1000), false) }
func BenchmarkPriorityWeightsChain1000Mixed(b *testing.B) { benchWeights(b, chainDAG(1000), true) }
func BenchmarkPriorityWeightsFanOut1000(b *testing.B)     { benchWeights(b, fanOutDAG(1000), false) }
func BenchmarkPriorityWeightsChain10000(b *testing.B)     { benchWeights(b, chainDAG(10000), false) }

func BenchmarkParseDuration(b *testing.B) {
	for b.Loop() {
		if _, err := ParseDuration("1d12h30m15.5s"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScheduleNext(b *testing.B) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		b.Fatal(err)
	}
	for _, expr := range []string{"@daily", "0 2 * * *", "*/5 * * * *"} {
		s := MustParseSchedule(expr)
		b.Run(expr, func(b *testing.B) {
			at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for b.Loop() {
				at = s.Next(at, ams)
			}
		})
	}
}
