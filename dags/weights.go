package dags

import (
	"math"
	"math/bits"
)

// PriorityWeights returns every task's effective priority weight under its
// weight rule, as Airflow computes it: for "downstream" its own weight plus
// the weights of all its transitive downstream tasks, for "upstream" the
// same with upstream tasks, for "absolute" its own weight alone. Each
// relative counts once however many paths lead to it (in a diamond a >> b,
// a >> c, b >> d, c >> d, d counts once for a). Results are clamped to the
// int32 range, as Airflow clamps them for its database.
//
// On a finalized DAG it runs one pass per direction in topological order,
// sharing reachability sets between neighbours, in O(edges·tasks/64) time
// plus the size of the sets; a DAG that failed Finalize with a cycle falls
// back to one walk per task.
func (d *DAG) PriorityWeights() map[string]int {
	if d.base != nil {
		return d.base.PriorityWeights() // a run's view (ForRun): the whole DAG's weights
	}
	n := len(d.order)
	out := make(map[string]int, n)
	if n == 0 {
		return out
	}
	if !d.sorted {
		for _, t := range d.order {
			var relatives []string
			switch t.WeightRule {
			case WeightAbsolute:
			case WeightUpstream:
				relatives = d.Ancestors(t.ID)
			default:
				relatives = d.Descendants(t.ID)
			}
			w := int64(t.PriorityWeight)
			for _, id := range relatives {
				if id != t.ID { // a task on a cycle reaches itself
					w = addSat(w, int64(d.tasks[id].PriorityWeight))
				}
			}
			out[t.ID] = clampInt32(w)
		}
		return out
	}

	own := make([]int64, n)
	uniform := true
	var needDown, needUp bool
	for i, t := range d.order {
		own[i] = int64(t.PriorityWeight)
		uniform = uniform && own[i] == own[0]
		switch t.WeightRule {
		case WeightAbsolute:
		case WeightUpstream:
			needUp = true
		default:
			needDown = true
		}
	}
	var down, up []int64
	if needDown {
		down = reachWeights(d.order, d.index, own, uniform, true)
	}
	if needUp {
		up = reachWeights(d.order, d.index, own, uniform, false)
	}
	for i, t := range d.order {
		w := own[i]
		switch t.WeightRule {
		case WeightAbsolute:
		case WeightUpstream:
			w = addSat(w, up[i])
		default:
			w = addSat(w, down[i])
		}
		out[t.ID] = clampInt32(w)
	}
	return out
}

// reachWeights returns, for each task of the topologically sorted order,
// the summed own weights of the tasks it reaches downstream (or upstream),
// each counted once. It visits tasks so that every neighbour a task reaches
// through is done first, builds the task's reach set as the union of its
// neighbours' sets, and returns a set to a free list once every task that
// needs it is done, so a chain holds two sets at a time, not n.
func reachWeights(order []*Task, index map[string]int, own []int64, uniform, downstream bool) []int64 {
	n := len(order)
	words := (n + 63) / 64
	sets := make([][]uint64, n)
	pending := make([]int, n) // tasks still to union this task's set
	var free [][]uint64
	sums := make([]int64, n)
	next := func(t *Task) []string { return t.Downstream }
	back := func(t *Task) []string { return t.Upstream }
	if !downstream {
		next, back = back, next
	}
	for k := range n {
		i := k
		if downstream {
			i = n - 1 - k
		}
		t := order[i]
		var set []uint64
		if len(free) > 0 {
			set, free = free[len(free)-1], free[:len(free)-1]
			clear(set)
		} else {
			set = make([]uint64, words)
		}
		for _, id := range next(t) {
			j := index[id]
			set[j/64] |= 1 << (j % 64)
			for w, v := range sets[j] {
				set[w] |= v
			}
			if pending[j]--; pending[j] == 0 {
				free = append(free, sets[j])
				sets[j] = nil
			}
		}
		sums[i] = sumSet(set, own, uniform)
		pending[i] = len(back(t))
		if pending[i] == 0 {
			free = append(free, set)
		} else {
			sets[i] = set
		}
	}
	return sums
}

// sumSet adds the own weights of the tasks in set; with uniform weights it
// counts bits instead.
func sumSet(set []uint64, own []int64, uniform bool) int64 {
	if uniform {
		var count int64
		for _, v := range set {
			count += int64(bits.OnesCount64(v))
		}
		if count == 0 {
			return 0
		}
		w := own[0]
		if w != 0 && (count > math.MaxInt64/abs64(w)) {
			if w > 0 {
				return math.MaxInt64
			}
			return math.MinInt64
		}
		return count * w
	}
	var sum int64
	for w, v := range set {
		for v != 0 {
			b := bits.TrailingZeros64(v)
			v &= v - 1
			sum = addSat(sum, own[w*64+b])
		}
	}
	return sum
}

func abs64(x int64) int64 {
	if x < 0 {
		if x == math.MinInt64 {
			return math.MaxInt64
		}
		return -x
	}
	return x
}

// addSat adds without wrapping around, saturating at the int64 bounds.
func addSat(a, b int64) int64 {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return math.MaxInt64
	}
	if a < 0 && b < 0 && s >= 0 {
		return math.MinInt64
	}
	return s
}

// clampInt32 bounds a weight to the int32 range.
func clampInt32(w int64) int {
	return int(max(math.MinInt32, min(w, math.MaxInt32)))
}
