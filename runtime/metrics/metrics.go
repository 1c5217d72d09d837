package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Namespace prefixes every metric name.
const Namespace = "starflow"

// Metrics is one process's collectors.
type Metrics struct {
	reg *prometheus.Registry
	// SchedulingLatency observes, for each try, the seconds from its task
	// instance being queued to the try starting.
	SchedulingLatency prometheus.Histogram
	// TaskDuration observes each finished try's duration in seconds, by
	// operator and final state.
	TaskDuration *prometheus.HistogramVec
}

// New returns Metrics with its collectors and Go's runtime and process
// collectors registered in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		SchedulingLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "scheduling_latency_seconds",
			Help:      "Seconds from a task instance being queued to its try starting.",
			Buckets:   []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		TaskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Name:      "task_duration_seconds",
			Help:      "Seconds a task try ran, by operator and final state.",
			Buckets:   []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600},
		}, []string{"operator", "state"}),
	}
	m.reg.MustRegister(m.SchedulingLatency, m.TaskDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry to serve (promhttp.HandlerFor).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveTry records a finished try of ti: its scheduling latency and its
// duration. Instances without the times needed are skipped.
func (m *Metrics) ObserveTry(ti *store.TaskInstance) {
	if m == nil || ti == nil {
		return
	}
	if !ti.QueuedAt.IsZero() && !ti.StartDate.IsZero() && !ti.StartDate.Before(ti.QueuedAt) {
		m.SchedulingLatency.Observe(ti.StartDate.Sub(ti.QueuedAt).Seconds())
	}
	if !ti.EndDate.IsZero() && !ti.StartDate.IsZero() {
		m.TaskDuration.WithLabelValues(ti.Operator, string(ti.State)).Observe(ti.Duration.Seconds())
	}
}

// Follow observes every try that finishes, in any process, from the
// notifier's task_finished events: it reads each finished task instance
// from the store and calls ObserveTry. It returns when ctx ends.
func (m *Metrics) Follow(ctx context.Context, n queue.Notifier, st store.Store, log *slog.Logger) error {
	events, err := n.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("metrics: subscribe to task events: %w", err)
	}
	for e := range events {
		if e.Kind != queue.EventTaskFinished {
			continue
		}
		ti, err := st.TaskInstanceGet(ctx, store.TaskInstanceKey{DagID: e.DAGID, RunID: e.RunID, TaskID: e.TaskID, MapIndex: e.MapIndex})
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) && log != nil {
				log.Warn("metrics: read finished task instance", "err", err)
			}
			continue
		}
		m.ObserveTry(ti)
	}
	return ctx.Err()
}

// StoreSource is what the scrape-time gauges read.
type StoreSource interface {
	RunStateCounts(ctx context.Context) (map[dags.DagRunState]int, error)
	TaskInstanceStateCounts(ctx context.Context) (map[dags.TaskState]int, error)
}

// DepthFunc returns the ready and pending messages of the queues.
type DepthFunc func(ctx context.Context) (ready, pending int64, err error)

// RegisterStore adds gauges computed at scrape time: runs and task
// instances by state from st, and, when depth is not nil, the queue's
// depth. A scrape reads the store at most once per cacheFor.
func (m *Metrics) RegisterStore(st StoreSource, depth DepthFunc, cacheFor time.Duration, log *slog.Logger) error {
	c := &storeCollector{st: st, depth: depth, cacheFor: cacheFor, log: log,
		runs: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "dag_runs"), "DAG runs by state.", []string{"state"}, nil),
		tis:  prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "task_instances"), "Task instances by state.", []string{"state"}, nil),
		qd:   prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "queue_depth"), "Messages in the task queue: ready (never delivered) and pending (delivered, not acknowledged).", []string{"kind"}, nil),
		up:   prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "metadata_up"), "1 when the last scrape could read the metadata database.", nil, nil),
	}
	return m.reg.Register(c)
}

// storeCollector computes the store gauges on scrape.
type storeCollector struct {
	st                StoreSource
	depth             DepthFunc
	cacheFor          time.Duration
	log               *slog.Logger
	runs, tis, qd, up *prometheus.Desc

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.runs
	ch <- c.tis
	ch <- c.qd
	ch <- c.up
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics == nil || time.Since(c.at) >= c.cacheFor {
		c.metrics, c.at = c.compute(), time.Now()
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

func (c *storeCollector) compute() []prometheus.Metric {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []prometheus.Metric
	up := 1.0
	runs, err := c.st.RunStateCounts(ctx)
	if err == nil {
		for _, s := range []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning, dags.DagRunStateSuccess, dags.DagRunStateFailed} {
			out = append(out, prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(runs[s]), string(s)))
		}
	}
	tis, err2 := c.st.TaskInstanceStateCounts(ctx)
	if err2 == nil {
		for _, s := range dags.AllTaskStates {
			out = append(out, prometheus.MustNewConstMetric(c.tis, prometheus.GaugeValue, float64(tis[s]), string(s)))
		}
	}
	if err := errors.Join(err, err2); err != nil {
		up = 0
		if c.log != nil {
			c.log.Warn("metrics: read the metadata database", "err", err)
		}
	}
	out = append(out, prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up))
	if c.depth != nil {
		if ready, pending, err := c.depth(ctx); err == nil {
			out = append(out, prometheus.MustNewConstMetric(c.qd, prometheus.GaugeValue, float64(ready), "ready"),
				prometheus.MustNewConstMetric(c.qd, prometheus.GaugeValue, float64(pending), "pending"))
		} else if c.log != nil {
			c.log.Warn("metrics: read the queue depth", "err", err)
		}
	}
	return out
}
