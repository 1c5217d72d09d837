package dags

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestPriorityWeights(t *testing.T) {
	t.Parallel()
	chain := []string{"a >> b", "b >> c"}
	diamond := []string{"a >> b", "a >> c", "b >> d", "c >> d"}
	tests := []struct {
		name    string
		tasks   []string
		edges   []string
		rule    WeightRule
		weights map[string]int // own weights other than 1
		want    map[string]int
	}{
		{"chain downstream", []string{"a", "b", "c"}, chain, WeightDownstream, nil, map[string]int{"a": 3, "b": 2, "c": 1}},
		{"chain upstream", []string{"a", "b", "c"}, chain, WeightUpstream, nil, map[string]int{"a": 1, "b": 2, "c": 3}},
		{"chain absolute", []string{"a", "b", "c"}, chain, WeightAbsolute, nil, map[string]int{"a": 1, "b": 1, "c": 1}},
		{"diamond downstream counts d once", []string{"a", "b", "c", "d"}, diamond, WeightDownstream, nil,
			map[string]int{"a": 4, "b": 2, "c": 2, "d": 1}},
		{"diamond upstream counts a once", []string{"a", "b", "c", "d"}, diamond, WeightUpstream, nil,
			map[string]int{"a": 1, "b": 2, "c": 2, "d": 4}},
		{"own weights are summed", []string{"a", "b", "c", "d"}, diamond, WeightDownstream,
			map[string]int{"a": 10, "b": 5, "c": 0, "d": 100}, map[string]int{"a": 115, "b": 105, "c": 100, "d": 100}},
		{"negative weights", []string{"a", "b", "c"}, chain, WeightDownstream,
			map[string]int{"a": 5, "b": -3, "c": -10}, map[string]int{"a": -8, "b": -13, "c": -10}},
		{"clamped to int32 max", []string{"a", "b", "c"}, chain, WeightDownstream,
			map[string]int{"a": math.MaxInt32, "b": math.MaxInt32, "c": math.MaxInt64}, map[string]int{"a": math.MaxInt32, "b": math.MaxInt32, "c": math.MaxInt32}},
		{"clamped to int32 min", []string{"a", "b", "c"}, chain, WeightUpstream,
			map[string]int{"a": math.MinInt32, "b": math.MinInt64, "c": math.MinInt64}, map[string]int{"a": math.MinInt32, "b": math.MinInt32, "c": math.MinInt32}},
		{"uniform huge weights saturate", []string{"a", "b", "c"}, chain, WeightDownstream,
			map[string]int{"a": math.MaxInt64, "b": math.MaxInt64, "c": math.MaxInt64}, map[string]int{"a": math.MaxInt32, "b": math.MaxInt32, "c": math.MaxInt32}},
		{"uniform huge negative weights saturate", []string{"a", "b", "c"}, chain, WeightDownstream,
			map[string]int{"a": math.MinInt64, "b": math.MinInt64, "c": math.MinInt64}, map[string]int{"a": math.MinInt32, "b": math.MinInt32, "c": math.MinInt32}},
		{"uniform zero weights", []string{"a", "b", "c"}, chain, WeightDownstream,
			map[string]int{"a": 0, "b": 0, "c": 0}, map[string]int{"a": 0, "b": 0, "c": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := build(tt.tasks, tt.edges...)
			for _, task := range d.Tasks() {
				task.WeightRule = tt.rule
				if w, ok := tt.weights[task.ID]; ok {
					task.PriorityWeight = w
				}
			}
			mustFinalize(t, d)
			if got := d.PriorityWeights(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PriorityWeights = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPriorityWeightsMixedRules(t *testing.T) {
	t.Parallel()
	d := build([]string{"a", "b", "c", "d"}, "a >> b", "b >> c", "c >> d")
	d.Task("a").WeightRule = WeightUpstream
	d.Task("b").WeightRule = WeightAbsolute
	d.Task("c").WeightRule = WeightDownstream
	d.Task("d").WeightRule = WeightUpstream
	mustFinalize(t, d)
	want := map[string]int{"a": 1, "b": 1, "c": 2, "d": 4}
	if got := d.PriorityWeights(); !reflect.DeepEqual(got, want) {
		t.Errorf("PriorityWeights = %v, want %v", got, want)
	}
}

func TestPriorityWeightsOfCyclicAndEmptyDAGs(t *testing.T) {
	t.Parallel()
	d := build([]string{"a", "b", "c", "x"}, "a >> b", "b >> c", "c >> a", "c >> x")
	if fs := d.Finalize(); len(fs) != 1 {
		t.Fatalf("Finalize = %v, want a cycle", fs)
	}
	// Each task on the cycle reaches the two others and x, never itself twice.
	want := map[string]int{"a": 4, "b": 4, "c": 4, "x": 1}
	if got := d.PriorityWeights(); !reflect.DeepEqual(got, want) {
		t.Errorf("PriorityWeights of a cyclic DAG = %v, want %v", got, want)
	}
	empty := build(nil)
	empty.Finalize()
	if got := empty.PriorityWeights(); len(got) != 0 {
		t.Errorf("PriorityWeights of an empty DAG = %v", got)
	}
}

// TestPriorityWeightsMatchBruteForce compares the topological pass with a
// walk per task on random DAGs of up to 200 tasks, for every rule and for
// uniform and mixed weights.
func TestPriorityWeightsMatchBruteForce(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 60 {
		n := 1 + rng.IntN(200)
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("t%03d", rng.IntN(1000)*1000+i) // definition order differs from id order
		}
		var edges []string
		density := rng.Float64() * 0.1
		for i := range n {
			for j := i + 1; j < n; j++ {
				if rng.Float64() < density {
					edges = append(edges, names[i]+">>"+names[j])
				}
			}
		}
		rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		d := build(names, edges...)
		mixed := round%2 == 1
		for _, task := range d.Tasks() {
			task.WeightRule = []WeightRule{WeightDownstream, WeightUpstream, WeightAbsolute}[rng.IntN(3)]
			if mixed {
				task.PriorityWeight = rng.IntN(21) - 5
			}
		}
		mustFinalize(t, d)
		want := map[string]int{}
		for _, task := range d.Tasks() {
			w := task.PriorityWeight
			var rel []string
			switch task.WeightRule {
			case WeightDownstream:
				rel = d.Descendants(task.ID)
			case WeightUpstream:
				rel = d.Ancestors(task.ID)
			}
			for _, id := range rel {
				w += d.Task(id).PriorityWeight
			}
			want[task.ID] = w
		}
		if got := d.PriorityWeights(); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d (%d tasks, %d edges): PriorityWeights differs from brute force", round, n, len(edges))
		}
	}
}
