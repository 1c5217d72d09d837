// Package tasklog keeps task logs in files: one file per try in a log
// folder, in Airflow's layout
// (dag_id=D/run_id=R/task_id=T[/map_index=N]/attempt=N.log), with one index
// row per try in the metadata database (store.TaskLogFile) saying where the
// file is, which host wrote it and its final size. The database never
// holds log text: a try's lines cost it one row, written when the try
// opens its log and again when it closes it.
//
// Readers (the webserver, the API, the CLI) read the file named by the
// index row from their own log folder, so every process that reads logs
// written by workers on other hosts must see the same folder (a shared
// mount); see docs/logs.md. Logs written before the index existed (schema
// version 10) are still read from the database.
package tasklog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
)

// ErrMissing marks a log whose index row names a file this process's log
// folder does not hold (the folder is not shared with the worker that
// wrote it, or the file was deleted). It wraps store.ErrNotFound.
var ErrMissing = fmt.Errorf("log file missing: %w", store.ErrNotFound)

// Folder is a log folder and the index of its files.
type Folder struct {
	// Dir is the log folder.
	Dir string
	// Store holds the index rows (and the logs from before files).
	Store store.Store
	// Hostname is recorded on the files this process writes.
	Hostname string
}

// New returns the log folder dir indexed in st.
func New(st store.Store, dir, hostname string) *Folder {
	return &Folder{Dir: dir, Store: st, Hostname: hostname}
}

// RelPath is where a try's log goes inside a log folder, with forward
// slashes: dag_id=D/run_id=R/task_id=T[/map_index=N]/attempt=N.log, as
// Airflow's default log_filename_template. Characters that would make
// another folder are replaced.
func RelPath(key store.TaskInstanceKey, try int) string {
	safe := strings.NewReplacer("/", "_", "\\", "_", ":", "_", "+", "_", "\x00", "_")
	parts := []string{"dag_id=" + safe.Replace(key.DagID), "run_id=" + safe.Replace(key.RunID), "task_id=" + safe.Replace(key.TaskID)}
	if key.MapIndex != store.NoMapIndex {
		parts = append(parts, fmt.Sprintf("map_index=%d", key.MapIndex))
	}
	return path.Join(append(parts, fmt.Sprintf("attempt=%d.log", try))...)
}

// abs turns an index row's path into a path under Dir, refusing one that
// would leave it.
func (f *Folder) abs(rel string) (string, error) {
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("log path %q leaves the log folder: %w", rel, store.ErrInvalid)
	}
	return filepath.Join(f.Dir, p), nil
}

// Contains reports whether path is where f keeps the log of key's try.
func (f *Folder) Contains(path string, key store.TaskInstanceKey, try int) bool {
	want, err := f.abs(RelPath(key, try))
	if err != nil || f.Dir == "" {
		return false
	}
	a, err1 := filepath.Abs(path)
	b, err2 := filepath.Abs(want)
	return err1 == nil && err2 == nil && a == b
}

// Writer appends to one try's log file. It is not safe for concurrent
// use; callers serialise (the executor's log writer does).
type Writer struct {
	folder *Folder
	row    store.TaskLogFile
	file   *os.File // nil once closed
	size   int64
}

// Create opens (or reopens, appending) the log file of a try and records
// its index row.
func (f *Folder) Create(ctx context.Context, key store.TaskInstanceKey, try int) (*Writer, error) {
	w, err := f.Open(key, try)
	if err != nil {
		return nil, err
	}
	if err := f.Store.TaskLogFileSet(ctx, &w.row); err != nil {
		w.file.Close()
		return nil, fmt.Errorf("index task log: %w", err)
	}
	return w, nil
}

// Row returns the index row of a try's log file in this folder, creating
// the file empty if it is not there yet, so that the row never names a
// missing file (a worker killed between the start of the try and its first
// line leaves an empty log, not a dangling index): the worker records the
// row in the transaction that starts the try
// (store.TaskInstanceSetStateParams.LogFile), then Opens the file.
func (f *Folder) Row(key store.TaskInstanceKey, try int) (*store.TaskLogFile, error) {
	if f.Dir == "" {
		return nil, errors.New("task log: no log folder configured")
	}
	rel := RelPath(key, try)
	file, err := f.openFile(rel)
	if err != nil {
		return nil, err
	}
	if err := file.Close(); err != nil {
		return nil, fmt.Errorf("create task log: %w", err)
	}
	return &store.TaskLogFile{Key: key, TryNumber: try, Path: rel, Hostname: f.Hostname}, nil
}

// openFile opens the file at rel in the folder for appending, creating it
// and its folders when missing.
func (f *Folder) openFile(rel string) (*os.File, error) {
	p, err := f.abs(rel)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return nil, fmt.Errorf("create task log folder: %w", err)
	}
	file, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create task log: %w", err)
	}
	return file, nil
}

// Open opens (or reopens, appending) the log file of a try without
// recording its index row (see Row).
func (f *Folder) Open(key store.TaskInstanceKey, try int) (*Writer, error) {
	if f.Dir == "" {
		return nil, errors.New("task log: no log folder configured")
	}
	rel := RelPath(key, try)
	file, err := f.openFile(rel)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, fmt.Errorf("create task log: %w", err)
	}
	return &Writer{folder: f, file: file, size: fi.Size(),
		row: store.TaskLogFile{Key: key, TryNumber: try, Path: rel, Hostname: f.Hostname, Size: fi.Size()}}, nil
}

// Write appends p to the file; nothing reaches the database.
func (w *Writer) Write(p []byte) (int, error) {
	if w.file == nil {
		return 0, fmt.Errorf("write task log %s: %w", w.row.Path, os.ErrClosed)
	}
	n, err := w.file.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write task log %s: %w", w.row.Path, err)
	}
	return n, nil
}

// Size is the file's size so far.
func (w *Writer) Size() int64 { return w.size }

// Close closes the file and records its final size in the index. After
// an error, calling it again only retries the index write.
func (w *Writer) Close(ctx context.Context) error {
	row, err := w.CloseFile()
	if ierr := w.folder.Store.TaskLogFileSet(ctx, row); ierr != nil {
		err = errors.Join(err, fmt.Errorf("index task log %s: %w", row.Path, ierr))
	}
	return err
}

// CloseFile closes the file and returns its final index row, for the
// caller to record (the worker records it in the transaction of the
// try's outcome, store.TaskInstanceEndParams.LogFile).
func (w *Writer) CloseFile() (*store.TaskLogFile, error) {
	var err error
	if w.file != nil {
		if err = w.file.Close(); err != nil {
			err = fmt.Errorf("close task log %s: %w", w.row.Path, err)
		}
		w.file = nil
	}
	w.row.Size = w.size
	row := w.row
	return &row, err
}

// Read reads a try's log from p.Offset, at most p.Limit bytes, from the
// file its index row names; a try without a row is read from the
// database (logs from before schema version 10, or none yet).
func (f *Folder) Read(ctx context.Context, p *store.TaskLogReadParams) (*store.TaskLogChunk, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	row, err := f.Store.TaskLogFileGet(ctx, p.Key, p.TryNumber)
	if errors.Is(err, store.ErrNotFound) {
		return f.Store.TaskLogRead(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	return f.readFile(row, p.Offset, p.Limit)
}

func (f *Folder) readFile(row *store.TaskLogFile, offset int64, limit int) (*store.TaskLogChunk, error) {
	if f.Dir == "" {
		return nil, fmt.Errorf("log of %s try %d: no log folder configured (set --log-folder or STARFLOW_LOG_FOLDER)", row.Key, row.TryNumber)
	}
	p, err := f.abs(row.Path)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("log of %s try %d: %s is not in the log folder %s (written on host %q; workers on other hosts need a shared log folder, see docs/logs.md): %w",
			row.Key, row.TryNumber, row.Path, f.Dir, row.Hostname, ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("log of %s try %d: %w", row.Key, row.TryNumber, err)
	}
	defer file.Close()
	buf := make([]byte, limit)
	n, err := file.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("log of %s try %d: %w", row.Key, row.TryNumber, err)
	}
	return &store.TaskLogChunk{Data: buf[:n], NextOffset: offset + int64(n)}, nil
}

// Remove deletes the files at the given index paths (as store.DBClean
// reports them) and the folders they leave empty. Files already gone are
// not an error. It returns how many files it deleted.
func (f *Folder) Remove(paths []string) (int, error) {
	if f.Dir == "" {
		return 0, nil
	}
	var errs []error
	n := 0
	for _, rel := range paths {
		p, err := f.abs(rel)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch err := os.Remove(p); {
		case err == nil:
			n++
		case !errors.Is(err, os.ErrNotExist):
			errs = append(errs, fmt.Errorf("remove task log: %w", err))
			continue
		}
		// Remove the folders left empty, up to the log folder.
		for dir := filepath.Dir(p); dir != filepath.Clean(f.Dir) && strings.HasPrefix(dir, filepath.Clean(f.Dir)); dir = filepath.Dir(dir) {
			if os.Remove(dir) != nil {
				break
			}
		}
	}
	return n, errors.Join(errs...)
}
