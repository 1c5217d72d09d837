package dags

import (
	"strings"
	"testing"
	"time"
)

func amsterdam(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatalf("load Europe/Amsterdam (is tzdata installed?): %v", err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	ams := amsterdam(t)
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name string
		in   string
		loc  *time.Location
		want time.Time // compared as instants
	}{
		{"date only in UTC", "2024-01-01", nil, utc("2024-01-01T00:00:00Z")},
		{"date only in a zone", "2024-01-01", ams, utc("2023-12-31T23:00:00Z")},
		{"date only in summer time", "2024-07-01", ams, utc("2024-06-30T22:00:00Z")},
		{"date and minutes with a space", "2024-01-01 10:00", ams, utc("2024-01-01T09:00:00Z")},
		{"date and minutes with a T", "2024-01-01T10:00", tokyo, utc("2024-01-01T01:00:00Z")},
		{"date and seconds", "2024-01-01T10:00:30", nil, utc("2024-01-01T10:00:30Z")},
		{"date and fractional seconds", "2024-01-01 10:00:30.25", nil, utc("2024-01-01T10:00:30.25Z")},
		{"RFC 3339 in UTC ignores loc", "2024-01-01T06:00:00Z", ams, utc("2024-01-01T06:00:00Z")},
		{"RFC 3339 with an offset ignores loc", "2024-01-01T06:00:00+05:30", ams, utc("2024-01-01T00:30:00Z")},
		{"RFC 3339 with nanoseconds", "2024-01-01T06:00:00.123456789-02:00", nil, utc("2024-01-01T08:00:00.123456789Z")},
		{"offset after a space", "2024-01-01 06:00:00+01:00", nil, utc("2024-01-01T05:00:00Z")},
		{"surrounding space", "  2024-01-01\n", nil, utc("2024-01-01T00:00:00Z")},
		{"leap day", "2024-02-29", nil, utc("2024-02-29T00:00:00Z")},
		// Wall-clock times that DST skips or repeats, resolved as Airflow does.
		{"skipped time moves forward", "2024-03-31 02:30", ams, utc("2024-03-31T01:30:00Z")},
		{"skipped hour start", "2024-03-31T02:00", ams, utc("2024-03-31T01:00:00Z")},
		{"repeated time is its second occurrence", "2024-10-27 02:30", ams, utc("2024-10-27T01:30:00Z")},
		{"hour before the change", "2024-10-27 01:59", ams, utc("2024-10-26T23:59:00Z")},
		{"hour after the change", "2024-10-27 03:00", ams, utc("2024-10-27T02:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDate(tt.in, tt.loc)
			if err != nil {
				t.Fatalf("ParseDate(%q) failed: %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ParseDate(%q) = %s, want %s", tt.in, got.UTC(), tt.want.UTC())
			}
		})
	}
}

func TestParseDateKeepsTheZone(t *testing.T) {
	t.Parallel()
	ams := amsterdam(t)
	got, err := ParseDate("2024-07-01 08:00", ams)
	if err != nil {
		t.Fatal(err)
	}
	if got.Location() != ams || got.Hour() != 8 {
		t.Errorf("ParseDate in Amsterdam = %s, want 08:00 in Europe/Amsterdam", got)
	}
}

func TestParseDateErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "yesterday", "2024-13-01", "2024-02-30", "2023-02-29", "2024-1-1",
		"01/02/2024", "2024-01-01T25:00", "2024-01-01T10:00:00+25:00", "2024-01-01 10",
		"20240101", "2024-01-01T10:00:00Zjunk",
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDate(in, nil)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %s, want an error", in, got)
			}
			for _, w := range []string{`bad date "` + in + `"`, "2024-01-01", "RFC 3339"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseDate(%q) error %q does not mention %q", in, err, w)
				}
			}
		})
	}
}

// TestWallClockAllYear checks, hour by hour for a year in several zones,
// that an ordinary wall-clock reading maps to the instant clocks show it.
func TestWallClockAllYear(t *testing.T) {
	t.Parallel()
	zones := []string{"Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"}
	for _, name := range zones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		for at := utc("2024-01-01T00:00:00Z"); at.Year() == 2024; at = at.Add(37 * time.Minute) {
			local := at.In(loc)
			naive := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), 0, 0, time.UTC)
			got := wallClock(naive, loc)
			// A repeated reading resolves to its second occurrence, so the
			// result is at or up to one DST shift after the instant.
			if got.Before(at) || got.Sub(at) > time.Hour {
				t.Fatalf("%s: wallClock(%s) = %s, want %s or its repeat", name, naive.Format("2006-01-02 15:04"), got.UTC(), at)
			}
			if got.In(loc).Format("2006-01-02 15:04") != naive.Format("2006-01-02 15:04") {
				t.Fatalf("%s: wallClock(%s) reads %s", name, naive.Format("2006-01-02 15:04"), got.In(loc))
			}
		}
	}
}

// FuzzParseDate checks that ParseDate never panics and that a parsed date
// printed as RFC 3339 in UTC reads back to the same instant.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-01-01", "2024-01-01T06:00:00Z", "2024-03-31 02:30", "2024-10-27T02:30", "x", ""} {
		f.Add(s)
	}
	locs := []*time.Location{nil, amsterdam(f), time.FixedZone("X", -(9*3600 + 30*60))}
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range locs {
			got, err := ParseDate(s, loc)
			if err != nil {
				continue
			}
			// In UTC, since RFC 3339 offsets cannot carry the seconds of
			// historical offsets such as Amsterdam's +00:19:32.
			text := got.UTC().Format(time.RFC3339Nano)
			back, err := ParseDate(text, nil)
			if err != nil {
				// Years outside 0000-9999 cannot be written in RFC 3339.
				if y := got.UTC().Year(); y < 0 || y > 9999 {
					continue
				}
				t.Fatalf("ParseDate(%q) = %s, which does not read back: %v", s, text, err)
			}
			if !back.Equal(got) {
				t.Fatalf("ParseDate(%q) = %s, read back as %s", s, got, back)
			}
		}
	})
}
