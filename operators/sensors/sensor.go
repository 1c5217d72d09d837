package sensors

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Modes of a sensor.
const (
	// ModePoke keeps the worker slot and sleeps between pokes.
	ModePoke = "poke"
	// ModeReschedule frees the worker slot between pokes: the task
	// instance waits in up_for_reschedule.
	ModeReschedule = "reschedule"
)

// Defaults of the common arguments, as in Airflow.
const (
	DefaultPokeInterval = 60 * time.Second
	DefaultTimeout      = 7 * 24 * time.Hour // [sensors] default_timeout
)

// commonParams are the arguments every sensor takes, after its own.
func commonParams() []operators.Param {
	return []operators.Param{
		{Name: "poke_interval", Type: operators.ParamDuration, Default: DefaultPokeInterval,
			Doc: "the wait between two pokes"},
		{Name: "timeout", Type: operators.ParamDuration, Default: DefaultTimeout,
			Doc: "how long the sensor may wait in all, from its first poke (across reschedules); then it fails without retrying"},
		{Name: "mode", Type: operators.ParamString, Default: ModePoke, Choices: []string{ModePoke, ModeReschedule},
			Doc: `"poke" sleeps between pokes in its worker slot; "reschedule" frees the slot and waits in up_for_reschedule`},
		{Name: "soft_fail", Type: operators.ParamBool, Default: false,
			Doc: "on timeout (or a final error) mark the task skipped instead of failed"},
		{Name: "exponential_backoff", Type: operators.ParamBool, Default: false,
			Doc: "grow the wait between pokes exponentially, with jitter"},
		{Name: "max_wait", Type: operators.ParamDuration,
			Doc: "with exponential_backoff, the longest wait between two pokes"},
		{Name: "deferrable", Type: operators.ParamBool, Default: false,
			Doc: `wait without holding a worker slot, as Airflow's deferrable sensors; Starflow has no triggerer, so the sensor runs in "reschedule" mode`},
	}
}

// newSpec returns the spec of a sensor: its own parameters, then the
// common ones.
func newSpec(kind, doc string, positional int, own ...operators.Param) operators.Spec {
	return operators.Spec{Kind: kind, Doc: doc, Positional: positional, Params: append(own, commonParams()...)}
}

// Settings are a sensor's common arguments.
type Settings struct {
	PokeInterval       time.Duration
	Timeout            time.Duration
	Mode               string
	SoftFail           bool
	ExponentialBackoff bool
	// MaxWait caps the wait between pokes under exponential back-off;
	// zero means no cap.
	MaxWait time.Duration
}

// settings reads the common arguments from checked args.
func settings(a *operators.Args) Settings {
	mode := a.String("mode")
	if a.Bool("deferrable") {
		// A deferred task waits outside the worker for its trigger;
		// reschedule mode is the same wait without a triggerer.
		mode = ModeReschedule
	}
	return Settings{
		PokeInterval:       a.Duration("poke_interval"),
		Timeout:            a.Duration("timeout"),
		Mode:               mode,
		SoftFail:           a.Bool("soft_fail"),
		ExponentialBackoff: a.Bool("exponential_backoff"),
		MaxWait:            a.Duration("max_wait"),
	}
}

// Base is the clock of a sensor. The zero value uses the real clock.
type Base struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx ends, returning ctx's error then;
	// nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (b *Base) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Base) sleep(ctx context.Context, d time.Duration) error {
	if b.Sleep != nil {
		return b.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// PokeFunc checks the condition once and reports whether it holds. It
// logs what it checked. An error fails the try (retries apply unless it
// is wrapped with operators.Fail); an error made with skip ends the try
// skipped.
type PokeFunc func(ctx context.Context) (done bool, err error)

// skipError ends a sensor's try as skipped (external_task_sensor's
// skipped_states).
type skipError struct{ why string }

func (e *skipError) Error() string { return e.why }

// skip returns an error that makes Run end the try skipped.
func skip(format string, args ...any) error { return &skipError{why: fmt.Sprintf(format, args...)} }

// args checks and renders the task's arguments against spec.
func args(ctx context.Context, c *operators.Call, spec operators.Spec) (*operators.Args, error) {
	if c.Task == nil {
		return nil, operators.Fail(fmt.Errorf("%s: the call has no task", spec.Kind))
	}
	a, err := spec.Args(c.Task.Config)
	if err != nil {
		return nil, err
	}
	if err := a.Render(ctx, c); err != nil {
		return nil, err
	}
	return a, nil
}

// Run is the loop every sensor shares: poke until the condition holds,
// the timeout passes or the context ends. In poke mode it sleeps between
// pokes; in reschedule mode it pokes once and returns
// operators.Reschedule when the condition does not hold yet.
//
// The timeout counts from the try's first poke: c.FirstStart in
// reschedule mode (the start of the first run of this try, kept across
// reschedules), the start of Run in poke mode. When it has passed after a
// poke that said "not yet", the try fails without retrying
// (operators.Fail), or is skipped with soft_fail. soft_fail also turns a
// final poke error into a skip.
func (b *Base) Run(ctx context.Context, c *operators.Call, a *operators.Args, poke PokeFunc) (*operators.Result, error) {
	set := settings(a)
	started := b.now()
	pokeCount := 1
	if set.Mode == ModeReschedule {
		if !c.FirstStart.IsZero() {
			started = c.FirstStart
		}
		pokeCount = c.RescheduleCount + 1
	}
	for {
		done, err := poke(ctx)
		var se *skipError
		switch {
		case errors.As(err, &se):
			return operators.Skipped(se.why), nil
		case err != nil && set.SoftFail && operators.IsFinal(err) && ctx.Err() == nil:
			return operators.Skipped(fmt.Sprintf("soft_fail: %v", err)), nil
		case err != nil:
			return nil, err
		case done:
			return operators.Success(nil), nil
		}
		now := b.now()
		elapsed := now.Sub(started)
		if elapsed > set.Timeout {
			msg := fmt.Sprintf("sensor timed out: waited %s, more than its timeout of %s", formatDur(elapsed), dags.FormatDuration(set.Timeout))
			if set.SoftFail {
				return operators.Skipped(msg + " (soft_fail)"), nil
			}
			return nil, operators.Fail(errors.New(msg))
		}
		wait := NextInterval(set, c.Run.DAGID, taskID(c), started, pokeCount, elapsed)
		if set.Mode == ModeReschedule {
			at := now.Add(wait)
			return operators.Reschedule(at, fmt.Sprintf("poke %d: not yet; rescheduled to %s", pokeCount, at.UTC().Format(time.RFC3339))), nil
		}
		c.Logf("poke %d: not yet; next poke in %s", pokeCount, formatDur(wait))
		if err := b.sleep(ctx, wait); err != nil {
			return nil, err
		}
		pokeCount++
	}
}

func taskID(c *operators.Call) string {
	if c.Task == nil {
		return ""
	}
	return c.Task.ID
}

// formatDur prints a duration for the log: whole seconds, or milliseconds
// below a second.
func formatDur(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// maxBackoffSeconds bounds the computed back-off before the caps apply.
const maxBackoffSeconds = float64(dags.MaxDuration / time.Second)

// NextInterval returns the wait before poke pokeCount+1 (pokeCount
// counts from 1). Without exponential back-off it is the poke interval.
// With it, as Airflow's BaseSensorOperator computes it in whole seconds:
//
//	min_backoff = max(1, int(poke_interval * 2**(poke_count - 2)))
//	wait = min_backoff + sha1("dag#task#started#poke_count") % min_backoff
//
// so the wait lies in [min_backoff, 2*min_backoff - 1] seconds, then is
// capped by the time left before the timeout (but at least a second) and
// by max_wait. The jitter
// is deterministic: the same sensor, start and poke count give the same
// wait. started is written in RFC 3339 (UTC, nanoseconds) in the hash.
func NextInterval(set Settings, dagID, taskID string, started time.Time, pokeCount int, elapsed time.Duration) time.Duration {
	if !set.ExponentialBackoff {
		return set.PokeInterval
	}
	f := set.PokeInterval.Seconds() * math.Pow(2, float64(pokeCount-2))
	minBackoff := int64(max(1, min(math.Floor(f), maxBackoffSeconds)))
	sum := sha1.Sum([]byte(fmt.Sprintf("%s#%s#%s#%d", dagID, taskID, started.UTC().Format(time.RFC3339Nano), pokeCount)))
	h := new(big.Int).SetBytes(sum[:])
	jitter := new(big.Int).Mod(h, big.NewInt(minBackoff)).Int64()
	wait := time.Duration(minBackoff+jitter) * time.Second
	// At least a second, so that a sensor at its timeout still moves on
	// to the poke that times it out.
	left := set.Timeout - elapsed.Truncate(time.Second)
	wait = max(time.Second, min(wait, left))
	if set.MaxWait > 0 {
		wait = min(wait, set.MaxWait)
	}
	return wait
}
