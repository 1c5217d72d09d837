package storetest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

func testTaskLogs(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "t")
	k := key("etl", "r", "t")
	var want []byte
	for _, line := range []string{"first line\n", "second line\n", "ünïcode third\n"} {
		size, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 1, Data: []byte(line)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, line...)
		if size != int64(len(want)) {
			t.Errorf("size after append = %d, want %d", size, len(want))
		}
	}
	if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 2, Data: []byte("try two\n")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		offset        int64
		limit         int
		want          string
		wantNext      int64
		wantTryTwoLog bool
	}{
		{"everything", 0, 0, string(want), int64(len(want)), false},
		{"from inside a chunk", 6, 0, string(want[6:]), int64(len(want)), false},
		{"limited", 3, 10, string(want[3:13]), 13, false},
		{"at the end", int64(len(want)), 0, "", int64(len(want)), false},
	}
	for _, tt := range tests {
		c, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: k, TryNumber: 1, Offset: tt.offset, Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Data) != tt.want || c.NextOffset != tt.wantNext {
			t.Errorf("read %s = %q next %d, want %q next %d", tt.name, c.Data, c.NextOffset, tt.want, tt.wantNext)
		}
	}
	// Following a log: read what's there, append, read from NextOffset.
	c, _ := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: k, TryNumber: 2})
	if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 2, Data: []byte("more\n")}); err != nil {
		t.Fatal(err)
	}
	c2, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: k, TryNumber: 2, Offset: c.NextOffset})
	if err != nil || string(c.Data) != "try two\n" || string(c2.Data) != "more\n" {
		t.Errorf("following try 2: %q then %q, %v", c.Data, c2.Data, err)
	}
	if c, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: k, TryNumber: 9}); err != nil || len(c.Data) != 0 || c.NextOffset != 0 {
		t.Errorf("log of a try that wrote nothing = %+v, %v", c, err)
	}
	if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: key("etl", "r", "nope"), TryNumber: 1, Data: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("append for a missing instance: err = %v, want ErrNotFound", err)
	}
	big := make([]byte, store.MaxLogChunkBytes+1)
	if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 1, Data: big}); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("append over the limit: err = %v, want ErrTooLarge", err)
	}
}

// testTaskLogFiles: the index row of a try's log file is recorded,
// updated (its size when the try closes it) and read back; a try without
// one is ErrNotFound, as is a row for a missing task instance.
func testTaskLogFiles(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "t")
	k := key("etl", "r", "t")
	if _, err := s.TaskLogFileGet(ctx, k, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row before the try logged: %v, want ErrNotFound", err)
	}
	f := &store.TaskLogFile{Key: k, TryNumber: 1, Path: "dag_id=etl/run_id=r/task_id=t/attempt=1.log", Hostname: "w1"}
	if err := s.TaskLogFileSet(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Size = 1 << 40
	if err := s.TaskLogFileSet(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.TaskLogFileGet(ctx, k, 1)
	if err != nil || !reflect.DeepEqual(got, f) {
		t.Errorf("row = %+v, %v; want %+v", got, err, f)
	}
	if _, err := s.TaskLogFileGet(ctx, k, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row of try 2: %v, want ErrNotFound", err)
	}
	if err := s.TaskLogFileSet(ctx, &store.TaskLogFile{Key: key("etl", "r", "nope"), TryNumber: 1, Path: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row of a missing instance: %v, want ErrNotFound", err)
	}
	if err := s.TaskLogFileSet(ctx, &store.TaskLogFile{Key: k, TryNumber: 1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("row without a path: %v, want ErrInvalid", err)
	}
}

func testXCom(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "a", "b")
	ka, kb := key("etl", "r", "a"), key("etl", "r", "b")
	values := []struct {
		name  string
		value any
	}{
		{"null", nil},
		{"string", "hello ünïcode \u2603 \"quoted\""},
		{"integer", int64(math.MaxInt64)},
		{"negative integer", int64(-42)},
		{"float", 2.5},
		{"bool", true},
		{"nested", map[string]any{
			"rows": []any{map[string]any{"id": int64(1), "tags": []any{"x", "y"}}, map[string]any{"id": int64(2), "tags": []any{}}},
			"meta": map[string]any{"ok": false, "ratio": 0.25, "none": nil, "deep": map[string]any{"deeper": []any{[]any{int64(1)}}}},
		}},
	}
	for _, v := range values {
		if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: ka, Key: v.name, Value: v.value}); err != nil {
			t.Fatalf("XComSet %s: %v", v.name, err)
		}
		x, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: ka, Key: v.name})
		if err != nil {
			t.Fatalf("XComGet %s: %v", v.name, err)
		}
		if !reflect.DeepEqual(x.Value, v.value) {
			t.Errorf("xcom %s round trip = %#v, want %#v", v.name, x.Value, v.value)
		}
	}
	// Plain Go types encode as JSON and come back as plain values.
	type row struct {
		ID int `json:"id"`
	}
	if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: kb, Key: "return_value", Value: []row{{1}, {2}}}); err != nil {
		t.Fatal(err)
	}
	// Setting again replaces (and makes it the newest: a clock tick later
	// than every value of a).
	time.Sleep(2 * time.Millisecond)
	if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: kb, Key: "return_value", Value: []row{{3}}}); err != nil {
		t.Fatal(err)
	}
	x, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: kb, Key: "return_value"})
	if err != nil || !reflect.DeepEqual(x.Value, []any{map[string]any{"id": int64(3)}}) {
		t.Errorf("replaced xcom = %#v, %v", x, err)
	}
	list, err := s.XComList(ctx, &store.XComListParams{DagID: "etl", RunID: "r"})
	if err != nil || len(list) != len(values)+1 || list[len(list)-1].TaskID != "b" {
		t.Errorf("XComList = %d values, %v", len(list), err)
	}
	list, err = s.XComList(ctx, &store.XComListParams{DagID: "etl", RunID: "r", TaskID: "b", MapIndex: ptr(store.NoMapIndex)})
	if err != nil || len(list) != 1 || list[0].Key != "return_value" {
		t.Errorf("XComList of b = %v, %v", list, err)
	}
	testXComBrowse(ctx, t, s, len(values)+1)
	n, err := s.XComClear(ctx, ka)
	if err != nil || n != len(values) {
		t.Errorf("XComClear = %d, %v; want %d", n, err, len(values))
	}
	if _, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: ka, Key: "nested"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cleared xcom: err = %v, want ErrNotFound", err)
	}
	if _, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: kb, Key: "return_value"}); err != nil {
		t.Errorf("clearing a affected b: %v", err)
	}
	if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: key("etl", "r", "nope"), Key: "k", Value: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("xcom of a missing instance: err = %v, want ErrNotFound", err)
	}
}

func testXComLimits(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "a")
	k := key("etl", "r", "a")
	// A string of n bytes encodes to n+2 bytes of JSON.
	tests := []struct {
		name  string
		value any
		want  error
	}{
		{"exactly 1 MiB of JSON", strings.Repeat("x", store.MaxXComBytes-2), nil},
		{"one byte over", strings.Repeat("x", store.MaxXComBytes-1), store.ErrTooLarge},
		{"not encodable", map[string]any{"f": func() {}}, store.ErrInvalid},
		{"empty key", nil, store.ErrInvalid},
	}
	for _, tt := range tests {
		p := &store.XComSetParams{TaskInstanceKey: k, Key: tt.name, Value: tt.value}
		if tt.name == "empty key" {
			p.Key = ""
		}
		err := s.XComSet(ctx, p)
		if (tt.want == nil && err != nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if errors.Is(err, store.ErrTooLarge) && !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("%s: error %q should state the limit", tt.name, err)
		}
	}
	x, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: k, Key: "exactly 1 MiB of JSON"})
	if err != nil || len(x.Value.(string)) != store.MaxXComBytes-2 {
		t.Errorf("value at the limit did not round-trip: %v", err)
	}
}

func testCorruptXCom(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "a")
	k := key("etl", "r", "a")
	for _, name := range []string{"bad", "good"} {
		if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: k, Key: name, Value: map[string]any{"v": int64(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	h.Exec(t, s, `UPDATE xcom SET value = '{"v": 1,' WHERE key = 'bad'`)
	_, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: k, Key: "bad"})
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), k.String()) {
		t.Errorf("corrupt xcom: err = %v, want ErrCorrupt naming the key and the task instance", err)
	}
	if x, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: k, Key: "good"}); err != nil || x.Value == nil {
		t.Errorf("another xcom is affected: %v", err)
	}
	list, err := s.XComList(ctx, &store.XComListParams{DagID: "etl", RunID: "r"})
	if err != nil || len(list) != 2 || list[0].ValueError == "" || list[1].ValueError != "" || list[1].Value == nil {
		t.Errorf("XComList with a corrupt value = %+v, %v", list, err)
	}
	// Overwriting repairs it.
	if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: k, Key: "bad", Value: "fixed"}); err != nil {
		t.Fatal(err)
	}
	if x, err := s.XComGet(ctx, &store.XComGetParams{TaskInstanceKey: k, Key: "bad"}); err != nil || x.Value != "fixed" {
		t.Errorf("repaired xcom = %v, %v", x, err)
	}
}

func testVariables(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	sets := []store.VariableSetParams{
		{Key: "env", Value: "prod", Description: "where we run"},
		{Key: "api_token", Value: "tok-SUPERSECRET-123", Secret: true},
		{Key: "empty", Value: ""},
	}
	for _, p := range sets {
		if err := s.VariableSet(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	v, err := s.VariableGet(ctx, "api_token")
	if err != nil || v.Value != "tok-SUPERSECRET-123" || !v.Secret || v.UpdatedAt.IsZero() {
		t.Errorf("secret variable = %+v, %v", v, err)
	}
	if raw := h.QueryString(t, s, `SELECT value FROM variable WHERE key = 'api_token'`); strings.Contains(raw, "SUPERSECRET") {
		t.Errorf("secret variable stored in plain text: %q", raw)
	}
	if raw := h.QueryString(t, s, `SELECT value FROM variable WHERE key = 'env'`); raw != "prod" {
		t.Errorf("plain variable stored as %q", raw)
	}
	list, err := s.VariableList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, v := range list {
		keys = append(keys, v.Key+"="+v.Value)
	}
	if want := []string{"api_token=tok-SUPERSECRET-123", "empty=", "env=prod"}; !slices.Equal(keys, want) {
		t.Errorf("VariableList = %v, want %v", keys, want)
	}
	// Replacing a secret with a plain value stores it plain.
	if err := s.VariableSet(ctx, &store.VariableSetParams{Key: "api_token", Value: "public"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.VariableGet(ctx, "api_token"); v.Value != "public" || v.Secret {
		t.Errorf("replaced variable = %+v", v)
	}
	if err := s.VariableDelete(ctx, "env"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"env", "never"} {
		if _, err := s.VariableGet(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("VariableGet(%s): err = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.VariableDelete(ctx, "never"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("VariableDelete(never): err = %v, want ErrNotFound", err)
	}
	if err := s.VariableSet(ctx, &store.VariableSetParams{Key: "big", Value: strings.Repeat("x", store.MaxVariableBytes+1)}); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("variable over the limit: err = %v, want ErrTooLarge", err)
	}
	// A secret that no longer decrypts is a clear error for that variable
	// only.
	if err := s.VariableSet(ctx, &store.VariableSetParams{Key: "broken", Value: "x", Secret: true}); err != nil {
		t.Fatal(err)
	}
	h.Exec(t, s, `UPDATE variable SET value = 'sf1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' WHERE key = 'broken'`)
	if _, err := s.VariableGet(ctx, "broken"); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "broken") {
		t.Errorf("undecryptable secret: err = %v, want ErrCorrupt naming it", err)
	}
	if _, err := s.VariableGet(ctx, "api_token"); err != nil {
		t.Errorf("another variable is affected: %v", err)
	}
}

func testConnections(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	pg := operators.Connection{ID: "warehouse", Type: "postgres", Host: "db.internal", Port: 5432, Schema: "analytics",
		Login: "etl", Password: "p@ss:w0rd/SECRET", Extra: map[string]any{"sslmode": "require", "timeout": int64(30)}}
	if err := s.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: pg, Description: "the warehouse"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: operators.Connection{ID: "api", Type: "http", Host: "example.com"}}); err != nil {
		t.Fatal(err)
	}
	c, err := s.ConnectionGet(ctx, "warehouse")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Connection, pg) || c.Description != "the warehouse" || c.UpdatedAt.IsZero() {
		t.Errorf("ConnectionGet =\n%+v\nwant\n%+v", c.Connection, pg)
	}
	if raw := h.QueryString(t, s, `SELECT password FROM connection WHERE conn_id = 'warehouse'`); strings.Contains(raw, "SECRET") || raw == "" {
		t.Errorf("password stored as %q, want it encrypted", raw)
	}
	if err := s.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: pg}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate connection: err = %v, want ErrConflict", err)
	}
	list, err := s.ConnectionList(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "api" || list[1].Password != pg.Password || list[0].Password != "" {
		t.Errorf("ConnectionList = %+v, %v", list, err)
	}
	invalid := []operators.Connection{{Type: "http"}, {ID: "x"}, {ID: "x", Type: "http", Port: 70000}}
	for _, c := range invalid {
		if err := s.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: c}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ConnectionCreate(%+v): err = %v, want ErrInvalid", c, err)
		}
	}
	// ConnectionUpdate changes the fields it sets, in place: the password
	// is kept when not given, replaced (still sealed) or cleared.
	host, port, desc := "db2.internal", 6432, ""
	if err := s.ConnectionUpdate(ctx, &store.ConnectionUpdateParams{ConnID: "warehouse", Host: &host, Port: &port, Description: &desc,
		Extra: map[string]any{"sslmode": "disable"}}); err != nil {
		t.Fatal(err)
	}
	want := pg
	want.Host, want.Port, want.Extra = host, port, map[string]any{"sslmode": "disable"}
	if c, err := s.ConnectionGet(ctx, "warehouse"); err != nil || !reflect.DeepEqual(c.Connection, want) || c.Description != "" {
		t.Errorf("after ConnectionUpdate(host, port, extra) = %+v, %v; want %+v, the password kept", c, err, want)
	}
	pw := "n3w-SECRET"
	if err := s.ConnectionUpdate(ctx, &store.ConnectionUpdateParams{ConnID: "warehouse", Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.ConnectionGet(ctx, "warehouse"); err != nil || c.Password != pw || c.Host != host {
		t.Errorf("after a new password = %+v, %v", c, err)
	}
	if raw := h.QueryString(t, s, `SELECT password FROM connection WHERE conn_id = 'warehouse'`); strings.Contains(raw, "SECRET") || raw == "" {
		t.Errorf("updated password stored as %q, want it encrypted", raw)
	}
	empty := ""
	if err := s.ConnectionUpdate(ctx, &store.ConnectionUpdateParams{ConnID: "warehouse", Password: &empty}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.ConnectionGet(ctx, "warehouse"); err != nil || c.Password != "" {
		t.Errorf("after clearing the password = %+v, %v", c, err)
	}
	if err := s.ConnectionUpdate(ctx, &store.ConnectionUpdateParams{ConnID: "nope", Host: &host}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating an unknown connection: err = %v, want ErrNotFound", err)
	}
	badPort, noType := 70000, ""
	for _, p := range []store.ConnectionUpdateParams{{Host: &host}, {ConnID: "warehouse", Port: &badPort}, {ConnID: "warehouse", Type: &noType}} {
		if err := s.ConnectionUpdate(ctx, &p); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ConnectionUpdate(%+v): err = %v, want ErrInvalid", p, err)
		}
	}
	if err := s.ConnectionDelete(ctx, "warehouse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConnectionGet(ctx, "warehouse"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted connection: err = %v, want ErrNotFound", err)
	}
	if err := s.ConnectionDelete(ctx, "warehouse"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: err = %v, want ErrNotFound", err)
	}
}

func testPools(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	p, err := s.PoolGet(ctx, store.DefaultPool)
	if err != nil || p.Slots != store.DefaultPoolSlots || p.OpenSlots() != store.DefaultPoolSlots {
		t.Fatalf("default pool = %+v, %v; want 128 open slots", p, err)
	}
	if err := s.PoolSet(ctx, &store.PoolSetParams{Name: "db", Slots: 4, Description: "database"}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, s, "etl", "r", 0)
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "r", Tasks: []store.TaskInstanceCreate{
		{TaskID: "a", MapIndex: -1, State: dags.TaskStateRunning, Pool: "db", PoolSlots: 2},
		{TaskID: "b", MapIndex: -1, State: dags.TaskStateQueued, Pool: "db"},
		{TaskID: "c", MapIndex: -1, State: dags.TaskStateScheduled, Pool: "db"},
		{TaskID: "d", MapIndex: -1, State: dags.TaskStateRunning},
	}}); err != nil {
		t.Fatal(err)
	}
	p, err = s.PoolGet(ctx, "db")
	if err != nil || p.RunningSlots != 2 || p.QueuedSlots != 1 || p.OpenSlots() != 1 || p.Description != "database" {
		t.Errorf("pool db = %+v, %v; want 2 running, 1 queued, 1 open", p, err)
	}
	// Resizing keeps the occupancy.
	if err := s.PoolSet(ctx, &store.PoolSetParams{Name: "db", Slots: 10}); err != nil {
		t.Fatal(err)
	}
	list, err := s.PoolList(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "db" || list[0].OpenSlots() != 7 || list[1].RunningSlots != 1 {
		t.Errorf("PoolList = %+v, %v", list, err)
	}
	if err := s.PoolDelete(ctx, store.DefaultPool); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("deleting the default pool: err = %v, want ErrInvalid", err)
	}
	if err := s.PoolDelete(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PoolGet(ctx, "db"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted pool: err = %v, want ErrNotFound", err)
	}
	if err := s.PoolSet(ctx, &store.PoolSetParams{Name: "neg", Slots: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("negative slots: err = %v, want ErrInvalid", err)
	}
}

// testXComBrowse checks XComBrowse over the XComs testXCom stored: total
// of them, b's return_value the newest.
func testXComBrowse(ctx context.Context, t *testing.T, s store.Store, total int) {
	t.Helper()
	all, err := s.XComBrowse(ctx, &store.XComBrowseParams{})
	if err != nil || len(all) != total {
		t.Fatalf("XComBrowse = %d xcoms, %v; want %d", len(all), err, total)
	}
	if all[0].TaskID != "b" || all[0].Key != "return_value" || all[0].DagID != "etl" || all[0].RunID != "r" {
		t.Errorf("XComBrowse's first (newest) = %s %s, want b's return_value", all[0].TaskInstanceKey, all[0].Key)
	}
	var seen []string
	for off := 0; off < total; off += 3 {
		page, err := s.XComBrowse(ctx, &store.XComBrowseParams{Limit: 3, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page {
			seen = append(seen, x.TaskID+"/"+x.Key)
		}
	}
	var want []string
	for _, x := range all {
		want = append(want, x.TaskID+"/"+x.Key)
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("pages of 3 = %q, want %q", seen, want)
	}
	for _, c := range []struct {
		p    store.XComBrowseParams
		want []string
	}{
		{store.XComBrowseParams{TaskID: "b"}, []string{"b/return_value"}},
		{store.XComBrowseParams{Key: "float"}, []string{"a/float"}},
		{store.XComBrowseParams{DagID: "etl", RunID: "r", TaskID: "a", Key: "bool", MapIndex: ptr(store.NoMapIndex)}, []string{"a/bool"}},
		{store.XComBrowseParams{DagID: "other"}, nil},
		{store.XComBrowseParams{RunID: "other"}, nil},
		{store.XComBrowseParams{MapIndex: ptr(0)}, nil},
	} {
		got, err := s.XComBrowse(ctx, &c.p)
		if err != nil {
			t.Errorf("XComBrowse %+v: %v", c.p, err)
			continue
		}
		var keys []string
		for _, x := range got {
			keys = append(keys, x.TaskID+"/"+x.Key)
		}
		if !reflect.DeepEqual(keys, c.want) || got == nil {
			t.Errorf("XComBrowse %+v = %q (nil %v), want %q", c.p, keys, got == nil, c.want)
		}
	}
	if x := all[len(all)-1]; x.Value == nil && x.ValueError == "" && x.Key != "null" {
		t.Errorf("browsed xcom %s has no value", x.Key)
	}
}
