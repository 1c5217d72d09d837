package benchscale

import (
	"context"
	"sync"
	"time"
)

// group is a set of processes whose CPU is summed: the schedulers, the
// workers, the PostgreSQL backends of the benchmark's database, Redis.
type group struct {
	name string
	// limit is how many cores the group can use at most: 1 for the
	// single-threaded Redis, else the machine's cores.
	limit float64
	// pids lists the group's processes at a sample.
	pids func() []int
	// fromZero counts a process's CPU from its start (it was started for
	// the benchmark); otherwise from the first sample that saw it.
	fromZero bool

	last    map[int]float64
	seconds float64
	samples []float64 // cores used in each interval
}

// sampler reads the CPU of its groups and of the machine at each interval.
type sampler struct {
	groups   []*group
	interval time.Duration

	mu       sync.Mutex
	machine0 machineCPU
	machine  machineCPU
	began    time.Time
	ended    time.Time
}

func newSampler(interval time.Duration, groups ...*group) *sampler {
	for _, g := range groups {
		g.last = map[int]float64{}
	}
	return &sampler{groups: groups, interval: interval}
}

// run samples until ctx ends, then takes a last sample.
func (s *sampler) run(ctx context.Context) {
	s.mu.Lock()
	s.began = time.Now()
	s.machine0, _ = readMachineCPU()
	s.machine = s.machine0
	for _, g := range s.groups {
		g.observe(false)
	}
	s.mu.Unlock()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.sample()
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	dt := now.Sub(s.ended)
	if s.ended.IsZero() {
		dt = now.Sub(s.began)
	}
	s.ended = now
	if m, err := readMachineCPU(); err == nil {
		s.machine = m
	}
	for _, g := range s.groups {
		used := g.observe(true)
		if dt > 0 {
			g.samples = append(g.samples, used/dt.Seconds())
		}
	}
}

// observe reads the CPU of the group's processes and returns the seconds
// used since the last observation; count false only records baselines.
func (g *group) observe(count bool) float64 {
	used := 0.0
	for _, pid := range g.pids() {
		cpu, err := procCPU(pid)
		if err != nil {
			continue // exited between the listing and the read
		}
		prev, seen := g.last[pid]
		if !seen && (!count || !g.fromZero) {
			prev = cpu
		}
		if cpu > prev {
			used += cpu - prev
		}
		g.last[pid] = cpu
	}
	if count {
		g.seconds += used
	}
	return used
}

// cpuFigures returns what the sampler measured.
func (s *sampler) cpuFigures(ncpu int) ([]GroupCPU, MachineCPU) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wall := s.ended.Sub(s.began).Seconds()
	var out []GroupCPU
	for _, g := range s.groups {
		gc := GroupCPU{Name: g.name, Processes: len(g.last), Seconds: g.seconds, Limit: g.limit}
		if wall > 0 {
			gc.MeanCores = g.seconds / wall
		}
		gc.PeakCores = peak(g.samples, 3)
		out = append(out, gc)
	}
	m := MachineCPU{Cores: ncpu}
	if wall > 0 {
		m.BusyCores = (s.machine.busy - s.machine0.busy) / wall
		m.IOWaitCores = (s.machine.iowait - s.machine0.iowait) / wall
	}
	return out, m
}

// peak returns the largest mean of n consecutive samples (all of them when
// there are fewer).
func peak(samples []float64, n int) float64 {
	if len(samples) == 0 {
		return 0
	}
	if len(samples) < n {
		n = len(samples)
	}
	best, sum := 0.0, 0.0
	for i, v := range samples {
		sum += v
		if i >= n {
			sum -= samples[i-n]
		}
		if i >= n-1 && sum/float64(n) > best {
			best = sum / float64(n)
		}
	}
	return best
}
