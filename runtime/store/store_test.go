package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

func TestEncodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		v       any
		limit   int
		want    string
		wantErr error
	}{
		{"object", map[string]any{"a": 1}, 100, `{"a":1}`, nil},
		{"raw JSON kept as is", json.RawMessage(`{"b": [1, 2]}`), 100, `{"b": [1, 2]}`, nil},
		{"raw non-JSON", json.RawMessage(`{oops`), 100, "", ErrInvalid},
		{"not encodable", make(chan int), 100, "", ErrInvalid},
		{"at the limit", "xxxx", 6, `"xxxx"`, nil},
		{"over the limit", "xxxxx", 6, "", ErrTooLarge},
	}
	for _, tt := range tests {
		got, err := EncodeJSON("thing", tt.v, tt.limit)
		if !errors.Is(err, tt.wantErr) || got != tt.want {
			t.Errorf("%s: EncodeJSON = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "thing") {
			t.Errorf("%s: error %q does not name the value", tt.name, err)
		}
	}
	if _, err := EncodeJSON("xcom", strings.Repeat("x", MaxXComBytes), MaxXComBytes); err == nil || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("limit error = %v, want it to say 1 MiB", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text    string
		want    any
		wantErr error
	}{
		{`null`, nil, nil},
		{`42`, int64(42), nil},
		{`-9223372036854775808`, int64(-9223372036854775808), nil},
		{`9223372036854775808`, 9223372036854775808.0, nil},
		{`1.5`, 1.5, nil},
		{`1e3`, 1000.0, nil},
		{`{"a": [1, {"b": 2.5}], "c": null}`, map[string]any{"a": []any{int64(1), map[string]any{"b": 2.5}}, "c": nil}, nil},
		{`{"a":`, nil, ErrCorrupt},
		{`1 2`, nil, ErrCorrupt},
		{``, nil, ErrCorrupt},
	}
	for _, tt := range tests {
		got, err := DecodeJSON("v", tt.text)
		if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeJSON(%q) = %#v, %v; want %#v, %v", tt.text, got, err, tt.want, tt.wantErr)
		}
	}
	objs := []struct {
		text    string
		want    map[string]any
		wantErr error
	}{
		{``, map[string]any{}, nil},
		{`null`, map[string]any{}, nil},
		{`{"x": 1}`, map[string]any{"x": int64(1)}, nil},
		{`[1]`, nil, ErrCorrupt},
	}
	for _, tt := range objs {
		got, err := DecodeJSONObject("conf", tt.text)
		if !errors.Is(err, tt.wantErr) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeJSONObject(%q) = %#v, %v; want %#v, %v", tt.text, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://user:s3cret@db:5432/app?sslmode=disable", "postgres://user:xxxxx@db:5432/app?sslmode=disable"},
		{"postgres://user@db/app", "postgres://user@db/app"},
		{"postgres://db/app?password=s3cret&user=u", "postgres://db/app?password=xxxxx&user=u"},
		{"sqlite:///var/lib/starflow.db", "sqlite:///var/lib/starflow.db"},
		{"postgres://user:s3cr%t@db/app", "postgres://user:xxxxx@db/app"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(RedactURL(tt.in), "s3cr") {
			t.Errorf("RedactURL(%q) leaks the password", tt.in)
		}
	}
	if got := URLScheme("PostgreSQL://x"); got != "postgresql" {
		t.Errorf("URLScheme = %q", got)
	}
	if got := URLScheme("starflow.db"); got != "" {
		t.Errorf("URLScheme of a path = %q", got)
	}
}

func TestParseConnectionURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri     string
		want    operators.Connection
		wantErr bool
	}{
		{"postgres://etl:p%40ss@db.internal:5432/analytics?sslmode=require",
			operators.Connection{ID: "c", Type: "postgres", Host: "db.internal", Port: 5432, Schema: "analytics", Login: "etl", Password: "p@ss",
				Extra: map[string]any{"sslmode": "require"}}, false},
		{"google-cloud-platform://?__extra__=%7B%22project%22%3A+%22p%22%2C+%22n%22%3A+1%7D",
			operators.Connection{ID: "c", Type: "google_cloud_platform", Extra: map[string]any{"project": "p", "n": 1.0}}, false},
		{"http://example.com", operators.Connection{ID: "c", Type: "http", Host: "example.com", Extra: map[string]any{}}, false},
		{"http://h?a=1&a=2", operators.Connection{ID: "c", Type: "http", Host: "h", Extra: map[string]any{"a": []any{"1", "2"}}}, false},
		{"no-scheme", operators.Connection{}, true},
		{"mailto:someone", operators.Connection{}, true},
		{"http://h:99999", operators.Connection{}, true},
		{"http://h?__extra__=notjson", operators.Connection{}, true},
	}
	for _, tt := range tests {
		got, err := ParseConnectionURI("c", tt.uri)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseConnectionURI(%q): err = %v, want ErrInvalid", tt.uri, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("ParseConnectionURI(%q) = %+v, %v\nwant %+v", tt.uri, got, err, tt.want)
		}
	}
	if _, err := ParseConnectionURI("c", "postgres://u:hunter2@h:bad/db"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("parse error = %v; it must not quote the password", err)
	}
}

func TestConnectionURIRoundTrip(t *testing.T) {
	t.Parallel()
	conns := []operators.Connection{
		{ID: "c", Type: "postgres", Host: "db", Port: 5432, Schema: "app", Login: "u", Password: "p@ss:/w", Extra: map[string]any{"sslmode": "require"}},
		{ID: "c", Type: "aws", Login: "key", Extra: map[string]any{"region": "eu", "retries": 3.0}},
		{ID: "c", Type: "http", Host: "example.com", Extra: map[string]any{}},
	}
	for _, c := range conns {
		uri := ConnectionURI(&c, true)
		got, err := ParseConnectionURI("c", uri)
		if err != nil || !reflect.DeepEqual(*got, c) {
			t.Errorf("round trip of %+v through %q = %+v, %v", c, uri, got, err)
		}
		if hidden := ConnectionURI(&c, false); c.Password != "" && (strings.Contains(hidden, c.Password) || !strings.Contains(hidden, "xxxxx")) {
			t.Errorf("ConnectionURI without password = %q", hidden)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b := Backoff{Initial: time.Second, Max: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w)
		}
	}
}

type fakeStore struct{ Store }

func TestOpenWithRetry(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	fast := Backoff{Initial: time.Millisecond, Max: time.Millisecond}
	tests := []struct {
		name      string
		failures  int
		fail      error
		backoff   Backoff
		wantCalls int
		wantErr   error
	}{
		{"up at once", 0, nil, fast, 1, nil},
		{"up after two failures", 2, down, fast, 3, nil},
		{"gives up after the attempts", 10, down, Backoff{Initial: time.Millisecond, Attempts: 3}, 3, down},
		{"a newer schema is not waited for", 10, fmt.Errorf("x: %w", ErrSchemaTooNew), fast, 1, ErrSchemaTooNew},
		{"bad input is not waited for", 10, fmt.Errorf("x: %w", ErrInvalid), fast, 1, ErrInvalid},
	}
	for _, tt := range tests {
		calls := 0
		s, err := OpenWithRetry(context.Background(), func(context.Context) (Store, error) {
			calls++
			if calls <= tt.failures {
				return nil, tt.fail
			}
			return fakeStore{}, nil
		}, tt.backoff, nil)
		if calls != tt.wantCalls || !errors.Is(err, tt.wantErr) || (err == nil) != (s != nil) {
			t.Errorf("%s: %d calls, %v; want %d calls, %v", tt.name, calls, err, tt.wantCalls, tt.wantErr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := OpenWithRetry(ctx, func(context.Context) (Store, error) { return nil, down }, Backoff{Initial: time.Hour}, nil)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, down) {
		t.Errorf("cancelled wait: err = %v, want both the cause and context.Canceled", err)
	}
}

func TestAppendLog(t *testing.T) {
	t.Parallel()
	// Chunks "abc" at 0 and "defg" at 3, read from various offsets.
	tests := []struct {
		offset int64
		limit  int
		want   string
	}{
		{0, 100, "abcdefg"},
		{2, 100, "cdefg"},
		{3, 100, "defg"},
		{1, 3, "bcd"},
		{7, 100, ""},
	}
	for _, tt := range tests {
		next := tt.offset
		var buf []byte
		for _, c := range []struct {
			off  int64
			data string
		}{{0, "abc"}, {3, "defg"}} {
			if len(buf) < tt.limit {
				buf = AppendLog(buf, &next, c.off, []byte(c.data), tt.limit)
			}
		}
		if string(buf) != tt.want || next != tt.offset+int64(len(tt.want)) {
			t.Errorf("from %d limit %d: %q next %d, want %q", tt.offset, tt.limit, buf, next, tt.want)
		}
	}
}

func TestTransitionMatches(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &TaskInstanceSetStateParams{To: dags.TaskStateRunning, TryNumber: 2, Hostname: "w1", PID: 7, StartDate: start}
	ti := &TaskInstance{State: dags.TaskStateRunning, TryNumber: 2, Hostname: "w1", PID: 7, StartDate: start}
	if !p.Matches(ti) {
		t.Errorf("identical result does not match")
	}
	other := *ti
	other.PID = 8
	if p.Matches(&other) {
		t.Errorf("another worker's run matches")
	}
	other = *ti
	other.State = dags.TaskStateSuccess
	if p.Matches(&other) {
		t.Errorf("another state matches")
	}
}

func TestSealWithoutKey(t *testing.T) {
	t.Parallel()
	if _, err := Seal(nil, "variable \"x\"", "v"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "STARFLOW_SECRET_KEY") {
		t.Errorf("Seal without a key: err = %v", err)
	}
	if _, err := Unseal(nil, "variable \"x\"", "sf1:x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Unseal without a key: err = %v", err)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("X", 3600)
	in := time.Date(2024, 5, 6, 7, 8, 9, 123456789, loc)
	got := Truncate(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("Truncate = %v", got)
	}
	if !Truncate(time.Time{}).IsZero() {
		t.Errorf("Truncate of zero is not zero")
	}
}
