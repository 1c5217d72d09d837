package dags

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"2d", 48 * time.Hour},
		{"1d12h", 36 * time.Hour},
		{"90", 90 * time.Second},
		{"1.5h", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"0", 0},
		{"0s", 0},
		{"  45s \n", 45 * time.Second},
		{"1H30M", 90 * time.Minute},
		{"1h0m1s", time.Hour + time.Second},
		{"1m1m", 2 * time.Minute},
		{"0.5", 500 * time.Millisecond},
		{".5s", 500 * time.Millisecond},
		{"1.s", time.Second},
		{"0.3s", 300 * time.Millisecond},
		{"0.000000001s", time.Nanosecond},
		{"1.0000000001s", time.Second},
		{"1d1h1m1s1ms", 25*time.Hour + time.Minute + time.Second + time.Millisecond},
		{"36500d", MaxDuration},
		{"876000h", MaxDuration},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatalf("ParseDuration(%q) failed: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string // substrings the error must contain
	}{
		{"", []string{"empty duration", `"30s"`}},
		{"   ", []string{"empty duration"}},
		{"5x", []string{`"5x"`, `unknown unit "x"`, "known: d, h, m, s, ms"}},
		{"-1m", []string{`"-1m"`, "negative"}},
		{"-0", []string{"negative"}},
		{"h", []string{`"h"`, `expected a number before "h"`}},
		{"1h30", []string{`missing unit after "30"`}},
		{"1h 30m", []string{`unexpected " 30m"`}},
		{"1..5h", []string{`"1..5" is not a number`}},
		{".", []string{`"." is not a number`}},
		{"1.2.3s", []string{"is not a number"}},
		{"5 m", []string{`missing unit after "5"`}},
		{"+5m", []string{"unexpected"}},
		{"1e3", []string{`unknown unit "e"`}},
		{"NaN", []string{"expected a number"}},
		{"Inf", []string{"expected a number"}},
		{"5us", []string{`unknown unit "us"`}},
		{"1w", []string{`unknown unit "w"`}},
		{"36501d", []string{"longer than the maximum of 36500d"}},
		{"36500d1ms", []string{"longer than the maximum"}},
		{"99999999999999999999999999d", []string{"longer than the maximum"}},
		{"9223372036854775807s", []string{"longer than the maximum"}},
		{"3153600001", []string{"longer than the maximum"}},
		{"5m\x00", []string{"unexpected"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tt.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", tt.in, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseDuration(%q) error %q does not mention %q", tt.in, err, w)
				}
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{time.Nanosecond, "0.000000001s"},
		{250 * time.Millisecond, "250ms"},
		{1500 * time.Millisecond, "1.5s"},
		{45 * time.Second, "45s"},
		{90 * time.Second, "1m30s"},
		{90 * time.Minute, "1h30m"},
		{36 * time.Hour, "1d12h"},
		{48 * time.Hour, "2d"},
		{24*time.Hour + time.Second, "1d1s"},
		{time.Minute + 250*time.Millisecond, "1m0.25s"},
		{MaxDuration, "36500d"},
		{-90 * time.Minute, "-1h30m"},
		{math.MinInt64, "-106751d23h47m16.854775808s"},
		{math.MaxInt64, "106751d23h47m16.854775807s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			if got := FormatDuration(tt.in); got != tt.want {
				t.Errorf("FormatDuration(%d) = %q, want %q", int64(tt.in), got, tt.want)
			}
		})
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	t.Parallel()
	durations := []time.Duration{
		0, 1, 999, time.Microsecond, time.Millisecond, 250 * time.Millisecond,
		time.Second - 1, time.Second, 1500 * time.Millisecond, 59*time.Second + 999999999,
		time.Minute, 90 * time.Minute, 23*time.Hour + 59*time.Minute + 59*time.Second,
		24 * time.Hour, 36 * time.Hour, 365 * 24 * time.Hour, MaxDuration - 1, MaxDuration,
	}
	for d := time.Duration(7); d < MaxDuration; d = d*3 + 11 {
		durations = append(durations, d)
	}
	for _, d := range durations {
		s := FormatDuration(d)
		got, err := ParseDuration(s)
		if err != nil {
			t.Errorf("ParseDuration(FormatDuration(%d) = %q) failed: %v", int64(d), s, err)
			continue
		}
		if got != d {
			t.Errorf("ParseDuration(FormatDuration(%d) = %q) = %d", int64(d), s, int64(got))
		}
	}
}

// FuzzParseDuration checks that ParseDuration never panics, keeps every
// result within [0, MaxDuration], and that FormatDuration of a result reads
// back to the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30s", "1h30m", "2d", "1.5h", "250ms", "90", "", "-1m", "1e3", "0.000000001s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseDuration(%q): empty error message", s)
			}
			return
		}
		if d < 0 || d > MaxDuration {
			t.Fatalf("ParseDuration(%q) = %d, outside [0, MaxDuration]", s, int64(d))
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("ParseDuration(FormatDuration(%d) = %q) = %d, %v", int64(d), FormatDuration(d), int64(back), err)
		}
	})
}
