//go:build race

package sandbox

// raceDataLimit is the RLIMIT_DATA of a child built with -race: the
// sanitizer maps its shadow memory as data, many times the heap, so such
// a child relies on the Go memory limit and the heap watchdog.
const raceDataLimit = 64 << 30
