package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

func testDAGs(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)

	d, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "etl", File: "dags/etl.star", SourceHash: "h1",
		Schedule: "@daily", Description: "nightly", DisplayName: "Nightly ETL ☾", Tags: []string{"a", "b"}, ParsedAt: base})
	if err != nil {
		t.Fatal(err)
	}
	if d.DisplayName != "Nightly ETL ☾" || d.Label() != "Nightly ETL ☾" {
		t.Errorf("new DAG display name = %q, want the one upserted", d.DisplayName)
	}
	if d.IsPaused || !d.IsActive || d.MaxActiveRuns != dags.DefaultMaxActiveRuns || d.MaxActiveTasks != dags.DefaultMaxActiveTasks ||
		!slices.Equal(d.Tags, []string{"a", "b"}) || !d.LastParsedAt.Equal(store.Truncate(base)) || d.Schedule != "@daily" {
		t.Errorf("new DAG = %+v", d)
	}
	if _, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "held", File: "dags/held.star", IsPausedUponCreation: true}); err != nil {
		t.Fatal(err)
	}

	next := store.NextRun{LogicalDate: base, DataIntervalStart: base, DataIntervalEnd: base.AddDate(0, 0, 1), CreateAfter: base.AddDate(0, 0, 1)}
	if err := s.DAGSetNextRun(ctx, &store.DAGSetNextRunParams{DagID: "etl", Next: next}); err != nil {
		t.Fatal(err)
	}
	if err := s.DAGSetPaused(ctx, "etl", true); err != nil {
		t.Fatal(err)
	}
	// A re-parse updates the definition but keeps paused and next run.
	d, err = s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "etl", File: "dags/etl.star", SourceHash: "h2", Schedule: "@hourly", IsPausedUponCreation: false})
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsPaused || d.SourceHash != "h2" || d.Schedule != "@hourly" || !d.Next.CreateAfter.Equal(store.Truncate(next.CreateAfter)) ||
		!d.Next.DataIntervalEnd.Equal(store.Truncate(next.DataIntervalEnd)) {
		t.Errorf("re-upserted DAG = %+v; want paused, hash h2, next run kept", d)
	}
	if got, err := s.DAGGet(ctx, "etl"); err != nil || got.SourceHash != "h2" || !got.IsPaused {
		t.Errorf("DAGGet = %+v, %v", got, err)
	}
	// The re-parse gave no display name: the id is shown again.
	if d.DisplayName != "" || d.Label() != "etl" {
		t.Errorf("re-upserted DAG display name = %q, label %q; want none and the id", d.DisplayName, d.Label())
	}
	if _, err := s.DAGGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("DAGGet(nope): err = %v, want ErrNotFound naming it", err)
	}
	if err := s.DAGSetPaused(ctx, "nope", true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DAGSetPaused(nope): err = %v, want ErrNotFound", err)
	}
	if err := s.DAGSetNextRun(ctx, &store.DAGSetNextRunParams{DagID: "nope"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DAGSetNextRun(nope): err = %v, want ErrNotFound", err)
	}
	if _, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("DAGUpsert without id: err = %v, want ErrInvalid", err)
	}

	// List and its filters.
	if err := s.DAGSetPaused(ctx, "etl", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "also_etl", File: "dags/etl.star"}); err != nil {
		t.Fatal(err)
	}
	ids := func(p *store.DAGListParams) []string {
		t.Helper()
		list, err := s.DAGList(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range list {
			out = append(out, d.DagID)
		}
		return out
	}
	listTests := []struct {
		name string
		p    store.DAGListParams
		want []string
	}{
		{"all by id", store.DAGListParams{}, []string{"also_etl", "etl", "held"}},
		{"paused", store.DAGListParams{Paused: ptr(true)}, []string{"held"}},
		{"unpaused", store.DAGListParams{Paused: ptr(false)}, []string{"also_etl", "etl"}},
		{"due", store.DAGListParams{DueBefore: base.AddDate(0, 0, 1)}, []string{"etl"}},
		{"not yet due", store.DAGListParams{DueBefore: base}, nil},
		{"limit and offset", store.DAGListParams{Limit: 1, Offset: 1}, []string{"etl"}},
	}
	for _, tt := range listTests {
		if got := ids(&tt.p); !slices.Equal(got, tt.want) {
			t.Errorf("DAGList %s = %v, want %v", tt.name, got, tt.want)
		}
	}

	// A file that no longer defines also_etl deactivates it only.
	n, err := s.DAGDeactivate(ctx, &store.DAGDeactivateParams{File: "dags/etl.star", Keep: []string{"etl"}})
	if err != nil || n != 1 {
		t.Fatalf("DAGDeactivate = %d, %v; want 1", n, err)
	}
	if got := ids(&store.DAGListParams{Active: ptr(false)}); !slices.Equal(got, []string{"also_etl"}) {
		t.Errorf("inactive DAGs = %v, want [also_etl]", got)
	}
	// A deleted file deactivates everything it defined.
	if n, err := s.DAGDeactivate(ctx, &store.DAGDeactivateParams{File: "dags/etl.star"}); err != nil || n != 1 {
		t.Errorf("DAGDeactivate of a deleted file = %d, %v; want 1", n, err)
	}
	// Parsing it again reactivates it.
	if d, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "etl", File: "dags/etl.star"}); err != nil || !d.IsActive {
		t.Errorf("re-parsed DAG active = %v, %v", d != nil && d.IsActive, err)
	}

	// Clearing the next run.
	if err := s.DAGSetNextRun(ctx, &store.DAGSetNextRunParams{DagID: "etl"}); err != nil {
		t.Fatal(err)
	}
	if got := ids(&store.DAGListParams{DueBefore: base.AddDate(1, 0, 0)}); len(got) != 0 {
		t.Errorf("after clearing the next run, due DAGs = %v", got)
	}
}

func testDAGVersions(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	files := map[string]string{"etl.star": "load(\"//lib/x.star\", \"f\")\n", "lib/x.star": "def f(): pass\n# ünïcode"}
	if err := s.DAGVersionPut(ctx, &store.DAGVersionPutParams{SourceHash: "abc", EntryFile: "etl.star", Files: files}); err != nil {
		t.Fatal(err)
	}
	// The same hash again keeps the first bundle (versions are immutable).
	if err := s.DAGVersionPut(ctx, &store.DAGVersionPutParams{SourceHash: "abc", EntryFile: "x", Files: map[string]string{"x": "other"}}); err != nil {
		t.Fatal(err)
	}
	v, err := s.DAGVersionGet(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if v.EntryFile != "etl.star" || len(v.Files) != 2 || v.Files["lib/x.star"] != files["lib/x.star"] || v.CreatedAt.IsZero() {
		t.Errorf("DAGVersionGet = %+v", v)
	}
	if _, err := s.DAGVersionGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DAGVersionGet(nope): err = %v, want ErrNotFound", err)
	}
	if err := s.DAGVersionPut(ctx, &store.DAGVersionPutParams{SourceHash: "x", EntryFile: "missing.star", Files: files}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("entry file not in bundle: err = %v, want ErrInvalid", err)
	}
	big := map[string]string{"a.star": strings.Repeat("x", store.MaxSourceBytes)}
	if err := s.DAGVersionPut(ctx, &store.DAGVersionPutParams{SourceHash: "big", EntryFile: "a.star", Files: big}); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("bundle over the limit: err = %v, want ErrTooLarge", err)
	}
}

func testImportErrors(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	replace := func(file string, lines ...int) {
		t.Helper()
		p := &store.ImportErrorsReplaceParams{File: file, Timestamp: base}
		for _, l := range lines {
			p.Errors = append(p.Errors, store.ImportErrorEntry{Pos: dags.Pos{Line: l, Col: 3}, Message: "boom"})
		}
		if err := s.ImportErrorsReplace(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	positions := func() []string {
		t.Helper()
		list, err := s.ImportErrorList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.Pos.String())
			if e.Message != "boom" || !e.Timestamp.Equal(store.Truncate(base)) {
				t.Errorf("import error %+v", e)
			}
		}
		return out
	}
	replace("b.star", 9, 2)
	replace("a.star", 1)
	if got, want := positions(), []string{"a.star:1:3", "b.star:2:3", "b.star:9:3"}; !slices.Equal(got, want) {
		t.Errorf("import errors = %v, want %v", got, want)
	}
	replace("b.star", 4)
	replace("a.star")
	if got, want := positions(), []string{"b.star:4:3"}; !slices.Equal(got, want) {
		t.Errorf("after replacing = %v, want %v", got, want)
	}
}

func testSchemaStatus(t *testing.T, h Harness) {
	s := h.open(t)
	st, err := s.SchemaStatus(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpToDate() || st.Latest < 1 {
		t.Errorf("SchemaStatus = %+v, want up to date", st)
	}
	if err := s.Migrate(ctxT(t)); err != nil {
		t.Errorf("Migrate on a current schema: %v", err)
	}
	if err := s.Ping(ctxT(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
