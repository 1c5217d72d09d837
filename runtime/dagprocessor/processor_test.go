package dagprocessor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// etlV1 loads a module, so that its version bundle has two files.
const etlV1 = `load("//lib/common.star", "owner")

def build():
    a = bash(task_id = "a", bash_command = "echo " + owner)
    b = empty(task_id = "b")
    a >> b

dag(
    dag_id = "etl",
    build = build,
    schedule = "@daily",
    start_date = "2024-01-01",
    catchup = True,
    description = "loads things",
    tags = ["example", "etl"],
    max_active_runs = 3,
    max_active_tasks = 5,
)
`

const commonLib = `owner = "data-team"
`

// simpleDAG returns a file defining the given DAG ids, each one task.
func simpleDAG(extra string, ids ...string) string {
	var b strings.Builder
	b.WriteString("def build():\n    empty(task_id = \"t\")\n\n")
	for _, id := range ids {
		b.WriteString(`dag(dag_id = "` + id + `", build = build, schedule = "@daily", start_date = "2024-01-01"` + extra + ")\n")
	}
	return b.String()
}

// env is one test's DAG folder, store and processor.
type env struct {
	dir   string
	store store.Store // without counting
	calls *countingStore
	proc  *Processor
}

// now is the processor's clock in these tests.
const now = "2024-01-03T05:00:00Z"

func setup(t *testing.T, s store.Store) *env {
	t.Helper()
	dir := t.TempDir()
	cs := newCountingStore(s)
	clock := date(t, now)
	return &env{dir: dir, store: s, calls: cs, proc: &Processor{
		Store:  cs,
		Parser: newBagParser(dir),
		Folder: dir,
		Logger: discard(),
		Now:    func() time.Time { return clock },
	}}
}

// name returns how the loader names the file at rel.
func (e *env) name(rel string) string { return filepath.Join(e.dir, filepath.FromSlash(rel)) }

func (e *env) write(t *testing.T, rel, content string) { writeFile(t, e.dir, rel, content) }

func (e *env) remove(t *testing.T, rel string) {
	t.Helper()
	if err := os.Remove(e.name(rel)); err != nil {
		t.Fatal(err)
	}
}

// wantCalls checks the store calls made since the last check; calls not
// listed must not have happened.
func (e *env) wantCalls(t *testing.T, want map[string]int) {
	t.Helper()
	got := e.calls.take()
	for k, n := range got {
		if want[k] != n {
			t.Errorf("%s called %d times, want %d (all calls: %v)", k, n, want[k], got)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s called %d times, want %d (all calls: %v)", k, got[k], n, got)
		}
	}
}

func TestSyncNewDAGs(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "etl.star", etlV1)
		e.write(t, "lib/common.star", commonLib)
		e.write(t, "paused.star", simpleDAG(`, is_paused_upon_creation = True`, "paused"))
		e.write(t, "manual.star", `dag(dag_id = "manual", build = lambda: empty(task_id = "t"), start_date = "2024-01-01")`+"\n")

		stats := mustSync(t, e.proc)
		if want := (SyncStats{Files: 4, Changed: 4, DAGs: 3}); stats != want {
			t.Errorf("stats = %+v, want %+v", stats, want)
		}

		etl := getDAG(t, s, "etl")
		if !etl.IsActive || etl.IsPaused || etl.File != e.name("etl.star") || etl.Schedule != "@daily" ||
			etl.Description != "loads things" || strings.Join(etl.Tags, ",") != "example,etl" ||
			etl.MaxActiveRuns != 3 || etl.MaxActiveTasks != 5 {
			t.Errorf("etl row = %+v", etl)
		}
		// @daily from 2024-01-01 with catchup: the first interval comes
		// first, even though now is 2024-01-03T05:00.
		wantNext := store.NextRun{
			LogicalDate:       date(t, "2024-01-01T00:00:00Z"),
			DataIntervalStart: date(t, "2024-01-01T00:00:00Z"),
			DataIntervalEnd:   date(t, "2024-01-02T00:00:00Z"),
			CreateAfter:       date(t, "2024-01-02T00:00:00Z"),
		}
		if !sameNext(etl.Next, wantNext) {
			t.Errorf("etl next = %+v, want %+v", etl.Next, wantNext)
		}
		v, err := s.DAGVersionGet(context.Background(), etl.SourceHash)
		if err != nil {
			t.Fatal(err)
		}
		if v.EntryFile != "etl.star" || v.Files["etl.star"] != etlV1 || v.Files["lib/common.star"] != commonLib {
			t.Errorf("version = %+v, want etl.star and its module", v)
		}

		// Without catchup the first run is the latest complete interval;
		// is_paused_upon_creation pauses the new DAG.
		paused := getDAG(t, s, "paused")
		if !paused.IsPaused || !paused.Next.LogicalDate.Equal(date(t, "2024-01-02T00:00:00Z")) {
			t.Errorf("paused row = %+v, want paused with next logical date 2024-01-02", paused)
		}
		if manual := getDAG(t, s, "manual"); manual.Schedule != "None" || !manual.Next.LogicalDate.IsZero() {
			t.Errorf("manual row = %+v, want schedule None and no next run", manual)
		}
		if errs := importErrorsByFile(t, s); len(errs) != 0 {
			t.Errorf("import errors = %v, want none", errs)
		}
	})
}

func TestSyncIdleWritesNothing(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "etl.star", etlV1)
		e.write(t, "lib/common.star", commonLib)
		e.write(t, "broken.star", "def build(:\n")
		mustSync(t, e.proc)
		e.calls.take()

		for range 3 {
			stats := mustSync(t, e.proc)
			if want := (SyncStats{Files: 3, DAGs: 1, ImportErrors: 1}); stats != want {
				t.Errorf("stats = %+v, want %+v", stats, want)
			}
			// One read of the DAG rows, to notice what others changed.
			e.wantCalls(t, map[string]int{"DAGList": 1})
		}
	})
}

func TestSyncChangedFile(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "etl.star", etlV1)
		e.write(t, "lib/common.star", commonLib)
		mustSync(t, e.proc)
		old := getDAG(t, s, "etl")
		e.calls.take()

		e.write(t, "etl.star", strings.Replace(etlV1, "loads things", "loads more things", 1))
		stats := mustSync(t, e.proc)
		if stats.Changed != 1 {
			t.Errorf("Changed = %d, want 1", stats.Changed)
		}
		row := getDAG(t, s, "etl")
		if row.SourceHash == old.SourceHash || row.Description != "loads more things" {
			t.Errorf("row = %+v, want a new hash and description", row)
		}
		if _, err := s.DAGVersionGet(context.Background(), row.SourceHash); err != nil {
			t.Errorf("new version: %v", err)
		}
		if _, err := s.DAGVersionGet(context.Background(), old.SourceHash); err != nil {
			t.Errorf("old version is gone: %v", err)
		}
		// The schedule did not change, so neither did the next run.
		e.wantCalls(t, map[string]int{"DAGList": 1, "DAGVersionPut": 1, "DAGUpsert": 1, "RunList": 1})

		// A change in a loaded module is a change of the DAG too.
		e.write(t, "lib/common.star", `owner = "other-team"`+"\n")
		mustSync(t, e.proc)
		if h := getDAG(t, s, "etl").SourceHash; h == row.SourceHash {
			t.Error("a module change did not give a new version")
		}
	})
}

func TestSyncScheduleChangeReplansFromTheLatestRun(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		e := setup(t, s)
		e.write(t, "etl.star", etlV1)
		e.write(t, "lib/common.star", commonLib)
		mustSync(t, e.proc)
		hash := getDAG(t, s, "etl").SourceHash
		runs := []*store.RunCreateParams{
			{RunType: dags.RunTypeScheduled, LogicalDate: date(t, "2024-01-01T00:00:00Z"),
				DataIntervalStart: date(t, "2024-01-01T00:00:00Z"), DataIntervalEnd: date(t, "2024-01-02T00:00:00Z")},
			// A later manual run does not move the schedule.
			{RunType: dags.RunTypeManual, LogicalDate: date(t, "2024-01-02T03:00:00Z"),
				DataIntervalStart: date(t, "2024-01-02T00:00:00Z"), DataIntervalEnd: date(t, "2024-01-03T00:00:00Z")},
		}
		for _, r := range runs {
			r.DagID, r.RunID, r.SourceHash = "etl", dags.RunID(r.RunType, r.LogicalDate), hash
			if _, err := s.RunCreate(ctx, r); err != nil {
				t.Fatal(err)
			}
		}

		e.write(t, "etl.star", strings.Replace(etlV1, `"@daily"`, `"0 12 * * *"`, 1))
		mustSync(t, e.proc)
		row := getDAG(t, s, "etl")
		// From the scheduled run [01-01, 01-02): the next noon interval
		// after its start.
		want := store.NextRun{
			LogicalDate:       date(t, "2024-01-01T12:00:00Z"),
			DataIntervalStart: date(t, "2024-01-01T12:00:00Z"),
			DataIntervalEnd:   date(t, "2024-01-02T12:00:00Z"),
			CreateAfter:       date(t, "2024-01-02T12:00:00Z"),
		}
		if row.Schedule != "0 12 * * *" || !sameNext(row.Next, want) {
			t.Errorf("row = %+v, want schedule 0 12 * * * and next %+v", row, want)
		}
	})
}

func TestSyncBrokenThenFixedFile(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "etl.star", etlV1)
		e.write(t, "lib/common.star", commonLib)
		mustSync(t, e.proc)
		good := getDAG(t, s, "etl")
		e.calls.take()

		e.write(t, "etl.star", etlV1+"\ndef broken(:\n")
		stats := mustSync(t, e.proc)
		if stats.ImportErrors != 1 || stats.DAGs != 0 {
			t.Errorf("stats = %+v, want 1 import error and no DAG", stats)
		}
		errs := importErrorsByFile(t, s)[e.name("etl.star")]
		if len(errs) != 1 || errs[0].Pos.Line != 20 || errs[0].Pos.Col != 13 || !strings.Contains(errs[0].Message, "[syntax-error]") {
			t.Fatalf("import errors of etl.star = %+v, want one syntax error at 20:13", errs)
		}
		// The DAG keeps running at its last good version.
		if row := getDAG(t, s, "etl"); !row.IsActive || row.SourceHash != good.SourceHash {
			t.Errorf("row = %+v, want active at %s", row, good.SourceHash)
		}
		e.wantCalls(t, map[string]int{"DAGList": 1, "ImportErrorsReplace": 1})

		// Fixed back to the stored version: the error goes, nothing else
		// is written.
		e.write(t, "etl.star", etlV1)
		stats = mustSync(t, e.proc)
		if stats.ImportErrors != 0 || stats.DAGs != 1 {
			t.Errorf("stats = %+v, want no import error and 1 DAG", stats)
		}
		if errs := importErrorsByFile(t, s); len(errs) != 0 {
			t.Errorf("import errors = %v, want none", errs)
		}
		e.wantCalls(t, map[string]int{"DAGList": 1, "ImportErrorsReplace": 1})
	})
}

func TestSyncRemovedDAGsAndDeletedFiles(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "two.star", simpleDAG("", "one", "two"))
		e.write(t, "other.star", simpleDAG("", "other"))
		e.write(t, "broken.star", "x = undefined_name\n")
		mustSync(t, e.proc)
		if errs := importErrorsByFile(t, s); len(errs[e.name("broken.star")]) != 1 {
			t.Fatalf("import errors = %v, want one for broken.star", errs)
		}

		e.write(t, "two.star", simpleDAG("", "one"))
		e.remove(t, "other.star")
		e.remove(t, "broken.star")
		stats := mustSync(t, e.proc)
		if want := (SyncStats{Files: 1, Changed: 3, DAGs: 1}); stats != want {
			t.Errorf("stats = %+v, want %+v", stats, want)
		}
		for id, active := range map[string]bool{"one": true, "two": false, "other": false} {
			if row := getDAG(t, s, id); row.IsActive != active {
				t.Errorf("%s active = %v, want %v", id, row.IsActive, active)
			}
		}
		if errs := importErrorsByFile(t, s); len(errs) != 0 {
			t.Errorf("import errors = %v, want none after deleting the broken file", errs)
		}

		// A removed DAG that comes back is active again.
		e.write(t, "other.star", simpleDAG("", "other"))
		mustSync(t, e.proc)
		if !getDAG(t, s, "other").IsActive {
			t.Error("other is not active again")
		}
	})
}

func TestSyncDuplicateDAGID(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "a.star", simpleDAG("", "dup"))
		e.write(t, "b.star", simpleDAG("", "dup", "b_only"))
		stats := mustSync(t, e.proc)
		if stats.DAGs != 2 || stats.ImportErrors != 1 {
			t.Errorf("stats = %+v, want 2 DAGs and 1 import error", stats)
		}
		if f := getDAG(t, s, "dup").File; f != e.name("a.star") {
			t.Errorf("dup belongs to %s, want a.star (first by name)", f)
		}
		errs := importErrorsByFile(t, s)[e.name("b.star")]
		if len(errs) != 1 || !strings.Contains(errs[0].Message, `DAG id "dup" is already defined at `+e.name("a.star")) {
			t.Errorf("import errors of b.star = %+v", errs)
		}

		// Once a.star gives the id up, b.star's definition takes over.
		e.write(t, "a.star", simpleDAG("", "a_only"))
		mustSync(t, e.proc)
		if row := getDAG(t, s, "dup"); row.File != e.name("b.star") || !row.IsActive {
			t.Errorf("dup = %+v, want active in b.star", row)
		}
		if errs := importErrorsByFile(t, s); len(errs) != 0 {
			t.Errorf("import errors = %v, want none", errs)
		}
	})
}

func TestSyncRestartedProcessor(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.write(t, "etl.star", etlV1)
		e.write(t, "lib/common.star", commonLib)
		e.write(t, "gone.star", simpleDAG("", "gone"))
		e.write(t, "broken.star", "def build(:\n")
		mustSync(t, e.proc)

		// A new process over the same store and folder; one file was
		// deleted while none ran.
		e.remove(t, "gone.star")
		again := setup(t, s)
		again.dir = e.dir
		again.proc.Parser = newBagParser(e.dir)
		again.proc.Folder = e.dir
		stats := mustSync(t, again.proc)
		if stats.Changed != 4 || stats.DAGs != 1 || stats.ImportErrors != 1 {
			t.Errorf("stats = %+v, want 4 changed (3 files unknown to the new process, 1 deleted), 1 DAG, 1 import error", stats)
		}
		again.wantCalls(t, map[string]int{"DAGList": 1, "ImportErrorList": 1, "DAGDeactivate": 1})
		if getDAG(t, s, "gone").IsActive {
			t.Error("the DAG of the file deleted while no processor ran is still active")
		}
		if !getDAG(t, s, "etl").IsActive {
			t.Error("etl is not active")
		}
		mustSync(t, again.proc)
		again.wantCalls(t, map[string]int{"DAGList": 1})
	})
}

// failingStore fails DAGUpsert of one DAG while fail is set.
type failingStore struct {
	store.Store
	dagID string
	fail  atomic.Bool
}

var errInjected = errors.New("injected failure")

func (f *failingStore) DAGUpsert(ctx context.Context, p *store.DAGUpsertParams) (*store.DAG, error) {
	if p.DagID == f.dagID && f.fail.Load() {
		return nil, errInjected
	}
	return f.Store.DAGUpsert(ctx, p)
}

func TestSyncRetriesAFailedWrite(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		fs := &failingStore{Store: s, dagID: "bad"}
		fs.fail.Store(true)
		e.proc.Store = fs
		e.write(t, "a.star", simpleDAG("", "bad"))
		e.write(t, "b.star", simpleDAG("", "good"))

		if _, err := e.proc.Sync(context.Background()); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "bad") {
			t.Fatalf("Sync error = %v, want the injected failure naming DAG bad", err)
		}
		if !getDAG(t, s, "good").IsActive {
			t.Error("a failure in one file stopped the others")
		}
		fs.fail.Store(false)
		stats := mustSync(t, e.proc)
		if stats.Changed != 1 {
			t.Errorf("Changed = %d, want 1 (the failed file only)", stats.Changed)
		}
		if !getDAG(t, s, "bad").IsActive {
			t.Error("the failed DAG was not written by the next Sync")
		}
	})
}

// stubParser returns fixed files or an error.
type stubParser struct {
	files []ParsedFile
	err   error
}

func (s stubParser) Parse(context.Context) ([]ParsedFile, error) { return s.files, s.err }

func TestSyncParsedFilesByHand(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	d := dags.New("hand", dags.Pos{File: "dags/hand.star", Line: 3, Col: 1})
	d.Schedule = dags.MustParseSchedule("@once")
	d.StartDate = date(t, "2024-02-01T00:00:00Z")
	d.AddTask(&dags.Task{ID: "t", Operator: dags.OperatorEmpty})
	files := []ParsedFile{
		{Name: "dags/hand.star", Hash: "h1", EntryFile: "hand.star", Dir: "dags",
			Files: map[string]string{"hand.star": "# by hand"}, DAGs: []*dags.DAG{d}},
		{Name: "dags/mod.star", Hash: "h2", Errors: []dags.Finding{
			{Pos: dags.Pos{File: "dags/lib/x.star", Line: 4, Col: 2}, Rule: "import-error", Message: "boom"}}},
	}
	var seen []ParsedFile
	p := &Processor{Store: s, Parser: stubParser{files: files}, Logger: discard(),
		Now: func() time.Time { return date(t, now) }, OnParsed: func(f []ParsedFile) { seen = f }}
	mustSync(t, p)
	if len(seen) != 2 {
		t.Errorf("OnParsed saw %d files, want 2", len(seen))
	}
	row := getDAG(t, s, "hand")
	if row.Schedule != "@once" || row.SourceHash != "h1" || !row.Next.LogicalDate.Equal(d.StartDate) {
		t.Errorf("row = %+v, want @once at h1 with its one run planned", row)
	}
	// A finding inside a loaded module keeps its position in the message.
	errs := importErrorsByFile(t, s)["dags/mod.star"]
	if len(errs) != 1 || errs[0].Message != "dags/lib/x.star:4:2: boom [import-error]" {
		t.Errorf("import errors = %+v", errs)
	}

	p.Parser = stubParser{err: errors.New("folder is gone")}
	if _, err := p.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "parse DAG folder: folder is gone") {
		t.Errorf("Sync with a failing parser: %v", err)
	}
	if err := (&Processor{}).Watch(context.Background(), t.TempDir(), time.Second); err == nil {
		t.Error("Watch without a store and parser did not fail")
	}
}

func BenchmarkSyncIdle(b *testing.B) {
	dir := b.TempDir()
	for i := range 200 {
		writeFile(b, dir, fmt.Sprintf("team/f%03d.star", i), simpleDAG("", fmt.Sprintf("dag_%03d", i)))
	}
	s := testdb.SQLite(b)
	p := &Processor{Store: s, Parser: newBagParser(dir), Logger: discard()}
	if _, err := p.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSyncOtherFolderLeavesDAGsAlone: a processor of another folder (as
// `dags reserialize --dags other` beside a running standalone) neither
// deactivates the DAGs nor clears the import errors of this folder's
// files, and a running processor restores on its next Sync the DAGs the
// store lost (deactivated by someone else).
func TestSyncOtherFolderLeavesDAGsAlone(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		main := setup(t, s)
		main.write(t, "x.star", simpleDAG("", "x"))
		main.write(t, "broken.star", "def build(:\n")
		mustSync(t, main.proc)
		other := setup(t, s)
		other.write(t, "y.star", simpleDAG("", "y"))
		mustSync(t, other.proc)
		if x := getDAG(t, s, "x"); !x.IsActive {
			t.Errorf("x after a Sync of another folder: inactive, want active")
		}
		if errs := importErrorsByFile(t, s); len(errs[main.name("broken.star")]) == 0 {
			t.Errorf("import errors after a Sync of another folder: %v, want broken.star's kept", errs)
		}
		if y := getDAG(t, s, "y"); !y.IsActive {
			t.Errorf("y inactive")
		}
		// The store loses x (an older binary deactivated it): the running
		// processor writes it back on its next Sync, with nothing changed
		// on disk.
		if _, err := s.DAGDeactivate(context.Background(), &store.DAGDeactivateParams{File: main.name("x.star")}); err != nil {
			t.Fatal(err)
		}
		mustSync(t, main.proc)
		if x := getDAG(t, s, "x"); !x.IsActive {
			t.Errorf("x after the running processor's next Sync: inactive, want restored")
		}
		if y := getDAG(t, s, "y"); !y.IsActive {
			t.Errorf("y after the first folder's Sync: inactive, want active")
		}
	})
}
