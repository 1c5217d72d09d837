// Package metrics holds Starflow's Prometheus collectors: histograms that
// the scheduler and workers observe into (scheduling latency, task
// durations), and gauges computed from the metadata store and the queue
// when Prometheus scrapes (runs and task instances by state, queue depth).
//
// A process makes one Metrics with New and serves its Registry at
// /metrics. Observation methods are safe on a nil *Metrics, so code that
// may run without metrics needs no checks.
package metrics
