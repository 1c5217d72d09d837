package dagprocessor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// ParsedFile is one DAG file as the parser evaluated it.
type ParsedFile struct {
	// Name is the file's path as positions name it ("dags/etl.star"); the
	// store keys DAG rows and import errors by it.
	Name string
	// Hash is the content hash of the file and the modules it loads.
	Hash string
	// Dir names the DAG folder in positions, EntryFile is the file's path
	// within Files, and Files holds the text of the file and its modules:
	// the source bundle stored under Hash.
	Dir, EntryFile string
	Files          map[string]string
	// DAGs are the valid DAGs the file defines; their SourceHash is Hash.
	DAGs []*dags.DAG
	// Errors are the file's import errors and invalid-DAG findings.
	Errors []dags.Finding
}

// Parser parses the whole DAG folder. Implementations cache by content
// hash (the loader's Bag), so parsing an unchanged folder is cheap.
type Parser interface {
	Parse(ctx context.Context) ([]ParsedFile, error)
}

// SyncStats counts what one Sync saw and did.
type SyncStats struct {
	// Files is the number of files parsed.
	Files int
	// Changed is the number of files that are new, changed or deleted
	// since the last Sync (every file on the first Sync of a process).
	Changed int
	// DAGs is the number of valid DAGs in the folder.
	DAGs int
	// ImportErrors is the number of files with import errors.
	ImportErrors int
}

// Processor writes the state of a DAG folder to the store. Set Store and
// Parser; the other fields are optional. Sync may be called from many
// goroutines; calls run one at a time.
type Processor struct {
	Store  store.Store
	Parser Parser
	// Logger receives what changed; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock used to plan next runs; time.Now when nil.
	Now func() time.Time
	// OnParsed, when set, receives every parse result before it is
	// written, for example to seed a version cache.
	OnParsed func([]ParsedFile)
	// Folder is the DAG folder as the parser names its files (the prefix
	// of ParsedFile.Name; "." names them relative, an absolute folder
	// names them absolute); empty owns every file. A DAG row records its file,
	// hence its folder: the processor deactivates DAGs and clears import
	// errors only of files under Folder, so a `dags reserialize` of
	// another folder leaves a running processor's DAGs alone.
	Folder string

	mu    sync.Mutex // serialises Sync
	known *known     // what the store holds; nil until loaded
}

// known is what the processor believes the store holds, so that an idle
// Sync writes nothing. It is loaded from the store by the first Sync and
// updated after each successful write.
type known struct {
	files map[string]fileState // files seen in the last Sync, by name
	dags  map[string]dagState  // every DAG row, by id
}

// fileState is what was written for one file.
type fileState struct {
	// sig is the file's hash and the DAG ids it lost to other files; ""
	// when the state was loaded from the store, so the file is compared
	// DAG by DAG on its next Sync.
	sig    string
	errors []store.ImportErrorEntry
}

// dagState is the part of a DAG row that tells whether it needs an upsert.
type dagState struct {
	file, hash string
	active     bool
}

// plan is what a file should look like in the store.
type plan struct {
	file   *ParsedFile
	sig    string
	dags   []*dags.DAG // the DAGs the file owns
	errors []store.ImportErrorEntry
}

// Sync parses the DAG folder and writes to the store what changed since the
// last Sync. A failed write is returned (all failures joined) after the
// other files were written; the failed file is retried by the next Sync.
func (p *Processor) Sync(ctx context.Context) (SyncStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Store == nil || p.Parser == nil {
		return SyncStats{}, errors.New("dag processor: Store and Parser must be set")
	}
	files, err := p.Parser.Parse(ctx)
	if err != nil {
		return SyncStats{}, fmt.Errorf("parse DAG folder: %w", err)
	}
	if p.OnParsed != nil {
		p.OnParsed(files)
	}
	if p.known == nil {
		k, err := loadKnown(ctx, p.Store, p.owns)
		if err != nil {
			return SyncStats{}, err
		}
		p.known = k
	} else {
		// Read the DAG rows again: what another process changed (say, an
		// older binary that deactivated DAGs of other folders) is seen,
		// and the files whose DAGs the store lost are written again.
		d, err := listDAGs(ctx, p.Store)
		if err != nil {
			return SyncStats{}, err
		}
		p.known.dags = d
	}
	now := p.now()
	plans := makePlans(files)
	stats := SyncStats{Files: len(files)}

	var errs []error
	var written []*plan // changed files whose writes succeeded
	for _, pl := range plans {
		stats.DAGs += len(pl.dags)
		if len(pl.errors) > 0 {
			stats.ImportErrors++
		}
		if prev, ok := p.known.files[pl.file.Name]; ok && prev.sig == pl.sig && p.stored(pl) {
			continue
		}
		stats.Changed++
		if err := p.writeFile(ctx, pl, now); err != nil {
			errs = append(errs, err)
			continue
		}
		written = append(written, pl)
	}

	// Deactivate after every upsert, so that a DAG moving between files
	// is never inactive in between.
	active := p.activeByFile()
	for _, pl := range written {
		// A file with errors may have lost a DAG to a mistake the user is
		// fixing: its DAGs stay active at their last good version.
		if len(pl.errors) == 0 {
			keep := make([]string, len(pl.dags))
			for i, d := range pl.dags {
				keep[i] = d.ID
			}
			if err := p.deactivate(ctx, pl.file.Name, keep, active); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		p.known.files[pl.file.Name] = fileState{sig: pl.sig, errors: pl.errors}
	}
	present := make(map[string]bool, len(plans))
	for _, pl := range plans {
		present[pl.file.Name] = true
	}
	for _, name := range sortedKeys(p.known.files) {
		if present[name] {
			continue
		}
		stats.Changed++
		if err := p.removeFile(ctx, name, active, now); err != nil {
			errs = append(errs, err)
		}
	}
	return stats, errors.Join(errs...)
}

// stored reports whether every DAG of pl is active in the store at the
// file's version.
func (p *Processor) stored(pl *plan) bool {
	for _, d := range pl.dags {
		if p.known.dags[d.ID] != (dagState{file: pl.file.Name, hash: pl.file.Hash, active: true}) {
			return false
		}
	}
	return true
}

// owns reports whether the file name is under p.Folder.
func (p *Processor) owns(name string) bool {
	if p.Folder == "" {
		return true
	}
	dir := filepath.Clean(p.Folder)
	if dir == "." {
		return !filepath.IsAbs(name) && filepath.IsLocal(name)
	}
	rel, err := filepath.Rel(dir, name)
	return err == nil && filepath.IsLocal(rel) && filepath.IsAbs(dir) == filepath.IsAbs(name)
}

// makePlans orders the files by name and gives each DAG id to the first
// file that defines it; a later definition becomes an import error.
func makePlans(files []ParsedFile) []*plan {
	plans := make([]*plan, len(files))
	for i := range files {
		plans[i] = &plan{file: &files[i]}
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].file.Name < plans[j].file.Name })
	owner := map[string]*dags.DAG{}
	for _, pl := range plans {
		findings := slices.Clone(pl.file.Errors)
		var lost []string
		for _, d := range pl.file.DAGs {
			if prev, dup := owner[d.ID]; dup {
				findings = append(findings, dags.Finding{Pos: d.Pos, Rule: dags.RuleDuplicateDAG,
					Message: fmt.Sprintf("DAG id %q is already defined at %s", d.ID, prev.Pos)})
				lost = append(lost, d.ID)
				continue
			}
			owner[d.ID] = d
			pl.dags = append(pl.dags, d)
		}
		pl.errors = importErrors(pl.file.Name, findings)
		pl.sig = pl.file.Hash + "|" + strings.Join(lost, ",")
	}
	return plans
}

// importErrors turns findings into the store's entries. A finding inside a
// loaded module keeps its position in the message, since the store keys
// errors by the DAG file.
func importErrors(name string, findings []dags.Finding) []store.ImportErrorEntry {
	out := make([]store.ImportErrorEntry, 0, len(findings))
	for _, f := range findings {
		msg := f.Message
		if f.Rule != "" {
			msg += " [" + f.Rule + "]"
		}
		pos := dags.Pos{File: name, Line: f.Pos.Line, Col: f.Pos.Col}
		if f.Pos.File != "" && f.Pos.File != name {
			msg = f.Pos.String() + ": " + msg
			pos = dags.Pos{File: name}
		}
		out = append(out, store.ImportErrorEntry{Pos: pos, Message: msg})
	}
	return out
}

// writeFile writes a new or changed file: its source version and DAG rows
// when a DAG row differs, their next runs, and its import errors when they
// differ.
func (p *Processor) writeFile(ctx context.Context, pl *plan, now time.Time) error {
	f := pl.file
	var todo []*dags.DAG
	for _, d := range pl.dags {
		if p.known.dags[d.ID] != (dagState{file: f.Name, hash: f.Hash, active: true}) {
			todo = append(todo, d)
		}
	}
	if len(todo) > 0 {
		if err := p.Store.DAGVersionPut(ctx, &store.DAGVersionPutParams{SourceHash: f.Hash, EntryFile: f.EntryFile, Files: f.Files}); err != nil {
			return fmt.Errorf("store version %s of %s: %w", f.Hash, f.Name, err)
		}
	}
	for _, d := range todo {
		if err := p.writeDAG(ctx, f, d, now); err != nil {
			return err
		}
	}
	var prev []store.ImportErrorEntry
	if st, ok := p.known.files[f.Name]; ok {
		prev = st.errors
	}
	if !sameErrors(prev, pl.errors) {
		if err := p.Store.ImportErrorsReplace(ctx, &store.ImportErrorsReplaceParams{File: f.Name, Errors: pl.errors, Timestamp: now}); err != nil {
			return fmt.Errorf("record import errors of %s: %w", f.Name, err)
		}
		if len(pl.errors) > 0 {
			p.logger().Warn("DAG file has import errors", "file", f.Name, "errors", len(pl.errors), "first", pl.errors[0].Pos.String()+": "+pl.errors[0].Message)
		} else {
			p.logger().Info("DAG file loads again", "file", f.Name)
		}
	}
	return nil
}

// writeDAG upserts one DAG and plans its next scheduled run.
func (p *Processor) writeDAG(ctx context.Context, f *ParsedFile, d *dags.DAG, now time.Time) error {
	prev, existed := p.known.dags[d.ID]
	row, err := p.Store.DAGUpsert(ctx, &store.DAGUpsertParams{
		DagID:                d.ID,
		File:                 f.Name,
		SourceHash:           f.Hash,
		Schedule:             d.Schedule.String(),
		Description:          d.Description,
		DisplayName:          d.DisplayName,
		Tags:                 d.Tags,
		MaxActiveRuns:        d.MaxActiveRuns,
		MaxActiveTasks:       d.MaxActiveTasks,
		IsPausedUponCreation: d.IsPausedUponCreation,
		ParsedAt:             now,
	})
	if err != nil {
		return fmt.Errorf("store DAG %s of %s: %w", d.ID, f.Name, err)
	}
	p.known.dags[d.ID] = dagState{file: f.Name, hash: f.Hash, active: true}
	switch {
	case !existed:
		p.logger().Info("new DAG", "dag_id", d.ID, "file", f.Name, "hash", short(f.Hash))
	case !prev.active:
		p.logger().Info("DAG is back", "dag_id", d.ID, "file", f.Name, "hash", short(f.Hash))
	default:
		p.logger().Info("DAG changed", "dag_id", d.ID, "file", f.Name, "hash", short(f.Hash))
	}

	var last *dags.DataInterval
	if existed {
		runs, err := p.Store.RunList(ctx, &store.RunListParams{DagID: d.ID,
			RunTypes: []dags.RunType{dags.RunTypeScheduled, dags.RunTypeBackfill}, Limit: 1})
		if err != nil {
			return fmt.Errorf("find the latest run of DAG %s: %w", d.ID, err)
		}
		if len(runs) > 0 {
			last = &dags.DataInterval{Start: runs[0].DataIntervalStart, End: runs[0].DataIntervalEnd}
		}
	}
	var next store.NextRun
	if info, ok := d.NextDagRun(last, now); ok {
		next = store.NextRun{LogicalDate: info.LogicalDate, DataIntervalStart: info.DataIntervalStart,
			DataIntervalEnd: info.DataIntervalEnd, CreateAfter: info.RunAfter}
	}
	if sameNext(next, row.Next) {
		return nil
	}
	if err := p.Store.DAGSetNextRun(ctx, &store.DAGSetNextRunParams{DagID: d.ID, Next: next}); err != nil {
		return fmt.Errorf("plan the next run of DAG %s: %w", d.ID, err)
	}
	return nil
}

// deactivate marks inactive the active DAGs of file that keep does not
// list.
func (p *Processor) deactivate(ctx context.Context, file string, keep []string, active map[string][]string) error {
	var gone []string
	for _, id := range active[file] {
		if !slices.Contains(keep, id) {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if _, err := p.Store.DAGDeactivate(ctx, &store.DAGDeactivateParams{File: file, Keep: keep}); err != nil {
		return fmt.Errorf("deactivate DAGs removed from %s: %w", file, err)
	}
	for _, id := range gone {
		st := p.known.dags[id]
		st.active = false
		p.known.dags[id] = st
		p.logger().Info("DAG removed", "dag_id", id, "file", file)
	}
	active[file] = keep
	return nil
}

// removeFile deactivates the DAGs of a deleted file and clears its import
// errors.
func (p *Processor) removeFile(ctx context.Context, name string, active map[string][]string, now time.Time) error {
	if err := p.deactivate(ctx, name, nil, active); err != nil {
		return err
	}
	if len(p.known.files[name].errors) > 0 {
		if err := p.Store.ImportErrorsReplace(ctx, &store.ImportErrorsReplaceParams{File: name, Timestamp: now}); err != nil {
			return fmt.Errorf("clear import errors of deleted %s: %w", name, err)
		}
	}
	delete(p.known.files, name)
	p.logger().Info("DAG file deleted", "file", name)
	return nil
}

// activeByFile indexes the active DAGs by file.
func (p *Processor) activeByFile() map[string][]string {
	out := map[string][]string{}
	for id, st := range p.known.dags {
		if st.active {
			out[st.file] = append(out[st.file], id)
		}
	}
	return out
}

// dagListPage is how many DAG rows loadKnown reads per query.
const dagListPage = 1000

// listDAGs reads every DAG row's file, version and activity.
func listDAGs(ctx context.Context, s store.Store) (map[string]dagState, error) {
	out := map[string]dagState{}
	for offset := 0; ; offset += dagListPage {
		rows, err := s.DAGList(ctx, &store.DAGListParams{Limit: dagListPage, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("load DAGs from the store: %w", err)
		}
		for _, r := range rows {
			out[r.DagID] = dagState{file: r.File, hash: r.SourceHash, active: r.IsActive}
		}
		if len(rows) < dagListPage {
			return out, nil
		}
	}
}

// loadKnown reads the DAG rows and import errors from the store: the files
// they name that owns accepts (this processor's folder) are the files of
// the "previous" Sync, so that files deleted while no processor ran are
// noticed too.
func loadKnown(ctx context.Context, s store.Store, owns func(string) bool) (*known, error) {
	d, err := listDAGs(ctx, s)
	if err != nil {
		return nil, err
	}
	k := &known{files: map[string]fileState{}, dags: d}
	for _, st := range d {
		if st.active && owns(st.file) {
			k.files[st.file] = fileState{}
		}
	}
	errs, err := s.ImportErrorList(ctx)
	if err != nil {
		return nil, fmt.Errorf("load import errors from the store: %w", err)
	}
	for _, e := range errs {
		if !owns(e.Pos.File) {
			continue
		}
		st := k.files[e.Pos.File]
		st.errors = append(st.errors, store.ImportErrorEntry{Pos: e.Pos, Message: e.Message})
		k.files[e.Pos.File] = st
	}
	return k, nil
}

// sameErrors compares import errors by line, column and message (the file
// is the key they are stored under).
func sameErrors(a, b []store.ImportErrorEntry) bool {
	return slices.EqualFunc(a, b, func(x, y store.ImportErrorEntry) bool {
		return x.Pos.Line == y.Pos.Line && x.Pos.Col == y.Pos.Col && x.Message == y.Message
	})
}

// sameNext compares next runs at the store's precision.
func sameNext(a, b store.NextRun) bool {
	eq := func(x, y time.Time) bool { return store.Truncate(x).Equal(store.Truncate(y)) }
	return eq(a.LogicalDate, b.LogicalDate) && eq(a.DataIntervalStart, b.DataIntervalStart) &&
		eq(a.DataIntervalEnd, b.DataIntervalEnd) && eq(a.CreateAfter, b.CreateAfter)
}

func sortedKeys(m map[string]fileState) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

// short abbreviates a content hash for logs.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
