// Package storetest is the conformance suite every store.Store
// implementation must pass: Run(t, harness) from the implementation's own
// tests, and Bench(b, harness) for the benchmarks whose figures go into
// docs/performance.md.
//
// The suite checks every method, the compare-and-set guards (a transition
// from a stale state changes nothing and says so), claims racing from
// eight goroutines (each task instance claimed exactly once), key
// uniqueness, JSON round trips, the size limits, corrupt stored values,
// and that secrets are encrypted at rest.
package storetest
