package state

import (
	"crypto/sha1"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// ShouldRetry reports whether try tryNumber (1 for the first try) of a task
// with the given retries may be retried after it fails: a task gets
// retries+1 tries in all, so tries 1..retries are retried and the last one
// is not. After a task instance is cleared, pass the retries plus the tries
// made before the clear, as Airflow's max_tries does. A try that was
// interrupted because the task was cleared while running (restarting) is
// always retried; that is the caller's case to handle.
func ShouldRetry(tryNumber, retries int) bool {
	return retries > 0 && tryNumber <= retries
}

// RetryDelay returns how long task t waits after failed try tryNumber (1 for
// the first try) before the next one, as Airflow computes it.
//
// Without exponential back-off it is t.RetryDelay. With
// t.RetryExponentialBackoff = m > 0 it is min_backoff plus a jitter in
// [0, min_backoff), where min_backoff = max(1, ceil(retry_delay·m^(try−1)))
// seconds; the jitter is deterministic, derived from a SHA-1 of
// "dag#task#logical_date#try" so every scheduler computes the same delay.
// The result is capped at dags.MaxRetryDelayCap (one day, also when the
// power overflows) and at t.MaxRetryDelay when set. With m = 2 and a
// retry_delay of 300 s, try 1 waits 300–599 s, try 2 600–1199 s, try 3
// 1200–2399 s.
func RetryDelay(t *dags.Task, dagID string, logicalDate time.Time, tryNumber int) time.Duration {
	m := t.RetryExponentialBackoff
	if !(m > 0) { // also catches NaN
		return t.RetryDelay
	}
	if tryNumber < 1 {
		tryNumber = 1
	}
	capSeconds := int64(dags.MaxRetryDelayCap / time.Second)
	x := t.RetryDelay.Seconds() * math.Pow(m, float64(tryNumber-1))
	seconds := capSeconds
	if !math.IsNaN(x) && x < float64(capSeconds) {
		minBackoff := max(int64(math.Ceil(x)), 1)
		seconds = min(minBackoff+retryJitter(dagID, t.ID, logicalDate, tryNumber, minBackoff), capSeconds)
	}
	delay := time.Duration(seconds) * time.Second
	if t.MaxRetryDelay > 0 && delay > t.MaxRetryDelay {
		delay = t.MaxRetryDelay
	}
	return delay
}

// retryJitter returns a number in [0, n) derived from the task instance and
// the try, as Airflow's sha1("dag#task#logical_date#try") mod n. The date is
// formatted as Python's str() formats an aware datetime.
func retryJitter(dagID, taskID string, logicalDate time.Time, tryNumber int, n int64) int64 {
	date := logicalDate.Format("2006-01-02 15:04:05")
	if us := logicalDate.Nanosecond() / 1000; us != 0 {
		date += fmt.Sprintf(".%06d", us)
	}
	date += logicalDate.Format("-07:00")
	sum := sha1.Sum(fmt.Appendf(nil, "%s#%s#%s#%d", dagID, taskID, date, tryNumber))
	h := new(big.Int).SetBytes(sum[:])
	return h.Mod(h, big.NewInt(n)).Int64()
}
