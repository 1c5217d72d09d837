package state

import (
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

func TestShouldRetry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		try, retries int
		want         bool
	}{
		{1, 0, false}, {0, 0, false},
		{1, 1, true}, {2, 1, false},
		{1, 2, true}, {2, 2, true}, {3, 2, false},
		{5, 3, false},
	} {
		if got := ShouldRetry(tc.try, tc.retries); got != tc.want {
			t.Errorf("ShouldRetry(try %d, retries %d): got %v, want %v", tc.try, tc.retries, got, tc.want)
		}
	}
}

func backoffTask(id string, delay time.Duration, m float64, maxDelay time.Duration) *dags.Task {
	tk := dags.NewTask(id, dags.OperatorBash, dags.Pos{})
	tk.RetryDelay = delay
	tk.RetryExponentialBackoff = m
	tk.MaxRetryDelay = maxDelay
	return tk
}

func TestRetryDelayRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		delay    time.Duration
		m        float64
		maxDelay time.Duration
		try      int
		lo, hi   time.Duration
	}{
		{"try 1 doubling from 300 s", 300 * time.Second, 2, 0, 1, 300 * time.Second, 599 * time.Second},
		{"try 2 doubling from 300 s", 300 * time.Second, 2, 0, 2, 600 * time.Second, 1199 * time.Second},
		{"try 3 doubling from 300 s", 300 * time.Second, 2, 0, 3, 1200 * time.Second, 2399 * time.Second},
		{"multiplier 5 from 4 min, try 2", 4 * time.Minute, 5, 0, 2, 20 * time.Minute, 40*time.Minute - time.Second},
		{"multiplier 5 from 4 min, try 3", 4 * time.Minute, 5, 0, 3, 100 * time.Minute, 200*time.Minute - time.Second},
		{"fractional seconds round up", 1500 * time.Millisecond, 2, 0, 1, 2 * time.Second, 3 * time.Second},
		{"a zero delay still waits a second", 0, 2, 0, 3, time.Second, time.Second},
		{"try 0 counts as try 1", 300 * time.Second, 2, 0, 0, 300 * time.Second, 599 * time.Second},
		{"capped by max_retry_delay", 300 * time.Second, 2, 10 * time.Minute, 3, 10 * time.Minute, 10 * time.Minute},
		{"max_retry_delay above the delay changes nothing", 300 * time.Second, 2, time.Hour, 1, 300 * time.Second, 599 * time.Second},
		{"capped at one day", time.Hour, 2, 0, 10, 24 * time.Hour, 24 * time.Hour},
		{"a min_backoff of exactly one day gets no jitter", 12 * time.Hour, 2, 0, 2, 24 * time.Hour, 24 * time.Hour},
		{"an overflowing power is capped", time.Second, 2, 0, 5000, 24 * time.Hour, 24 * time.Hour},
		{"an infinite multiplier is capped", time.Second, 1e308, 0, 3, 24 * time.Hour, 24 * time.Hour},
		{"the one-day cap and then max_retry_delay", time.Hour, 2, 2 * time.Hour, 40, 2 * time.Hour, 2 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := map[time.Duration]bool{}
			for day := range 60 {
				date := time.Date(2024, 1, 1+day, 0, 0, 0, 0, time.UTC)
				tk := backoffTask("extract", tc.delay, tc.m, tc.maxDelay)
				got := RetryDelay(tk, "etl", date, tc.try)
				if got < tc.lo || got > tc.hi || got%time.Second != 0 {
					t.Fatalf("%s: RetryDelay = %v, want whole seconds in [%v, %v]", date.Format(time.DateOnly), got, tc.lo, tc.hi)
				}
				if again := RetryDelay(tk, "etl", date, tc.try); again != got {
					t.Fatalf("%s: RetryDelay not deterministic: %v then %v", date.Format(time.DateOnly), got, again)
				}
				seen[got] = true
			}
			if tc.hi-tc.lo >= 10*time.Second && len(seen) < 10 {
				t.Errorf("jitter barely varies over 60 logical dates: %v", seen)
			}
		})
	}
}

func TestRetryDelayMatchesAirflowJitter(t *testing.T) {
	t.Parallel()
	// Expected values computed with Python: min_backoff +
	// int(sha1("etl#extract#<str(logical_date)>#<try>").hexdigest(), 16) % min_backoff.
	tk := backoffTask("extract", 300*time.Second, 2, 0)
	for _, tc := range []struct {
		date time.Time
		try  int
		want time.Duration
	}{
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 1, (300 + 104) * time.Second},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 2, (600 + 175) * time.Second},
		{time.Date(2024, 3, 5, 12, 30, 0, 250_000_000, time.UTC), 3, (1200 + 133) * time.Second},
	} {
		if got := RetryDelay(tk, "etl", tc.date, tc.try); got != tc.want {
			t.Errorf("RetryDelay(%s, try %d): got %v, want %v", tc.date, tc.try, got, tc.want)
		}
	}
}

func TestRetryDelayWithoutBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		delay    time.Duration
		maxDelay time.Duration
		try      int
	}{
		{"the default five minutes", dags.DefaultRetryDelay, 0, 1},
		{"the same on every try", 90 * time.Second, 0, 7},
		{"max_retry_delay only bounds back-off, as in Airflow", 10 * time.Minute, time.Minute, 2},
		{"zero", 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := backoffTask("t", tc.delay, 0, tc.maxDelay)
			if got := RetryDelay(tk, "d", t0, tc.try); got != tc.delay {
				t.Errorf("RetryDelay: got %v, want %v", got, tc.delay)
			}
		})
	}
}
