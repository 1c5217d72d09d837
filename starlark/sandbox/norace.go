//go:build !race

package sandbox

// raceDataLimit is 0: RLIMIT_DATA is Limits.Data.
const raceDataLimit = 0
