package dagprocessor

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultRescan is the rescan interval Watch uses when given none: a
// safety net for changes the file watcher misses (network file systems,
// watch limits), as Airflow's dag_dir_list_interval is.
const DefaultRescan = 30 * time.Second

const (
	// debounce is how long Watch waits after a file event for more
	// events, so that an editor's save or a git checkout costs one Sync.
	debounce = 100 * time.Millisecond
	// maxDebounce bounds the wait while events keep coming.
	maxDebounce = time.Second
	// minBackoff and maxBackoff bound the wait before retrying a failed
	// Sync; it doubles with each failure in a row.
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// Watch keeps the store in step with the DAG folder dir until ctx ends: it
// runs Sync at once, shortly after files under dir change (sub-folders
// created later are watched too), and every rescan interval (DefaultRescan
// when rescan <= 0). A failed Sync is logged and retried with exponential
// back-off; nothing that goes wrong while watching stops it. Watch returns
// nil when ctx ends, and an error only when the Processor lacks its Store
// or Parser.
func (p *Processor) Watch(ctx context.Context, dir string, rescan time.Duration) error {
	if p.Store == nil || p.Parser == nil {
		return errors.New("dag processor: Store and Parser must be set")
	}
	if rescan <= 0 {
		rescan = DefaultRescan
	}
	log := p.logger().With("dags_folder", dir)

	var (
		events  <-chan fsnotify.Event
		werrs   <-chan error
		watcher *fsnotify.Watcher
	)
	if w, err := fsnotify.NewWatcher(); err != nil {
		log.Warn("cannot watch the DAG folder for changes; rescanning only", "every", rescan, "err", err)
	} else {
		watcher = w
		defer w.Close()
		events, werrs = w.Events, w.Errors
		p.watchTree(watcher, dir)
	}

	ticker := time.NewTicker(rescan)
	defer ticker.Stop()
	timer := time.NewTimer(0) // the first Sync runs at once
	defer timer.Stop()

	var (
		failures   int
		firstEvent time.Time // of the changes not yet synced; zero when none
	)
	changed := func() {
		if failures > 0 {
			return // the retry that is due parses the whole folder anyway
		}
		now := time.Now()
		if firstEvent.IsZero() {
			firstEvent = now
		}
		wait := min(debounce, max(firstEvent.Add(maxDebounce).Sub(now), 0))
		timer.Reset(wait)
	}

	for {
		select {
		case <-ctx.Done():
			return nil

		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			if ev.Has(fsnotify.Create) && !strings.HasPrefix(filepath.Base(ev.Name), ".") {
				p.watchTree(watcher, ev.Name) // a new sub-folder, with what is already in it
			}
			changed()

		case err, ok := <-werrs:
			if !ok {
				werrs = nil
				continue
			}
			log.Warn("file watcher error; syncing the whole folder", "err", err)
			changed()

		case <-ticker.C:
			if watcher != nil {
				p.watchTree(watcher, dir) // the folder may have been re-created
			}
			if failures == 0 {
				timer.Reset(0)
			}

		case <-timer.C:
			firstEvent = time.Time{}
			start := time.Now()
			stats, err := p.Sync(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				failures++
				wait := backoff(failures, rescan)
				log.Error("DAG folder sync failed; retrying", "in", wait, "failures", failures, "err", err)
				timer.Reset(wait)
				continue
			}
			if failures > 0 {
				log.Info("DAG folder sync recovered", "after_failures", failures)
			}
			failures = 0
			level := log.Debug
			if stats.Changed > 0 {
				level = log.Info
			}
			level("DAG folder synced", "files", stats.Files, "changed", stats.Changed, "dags", stats.DAGs,
				"import_errors", stats.ImportErrors, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// backoff returns the wait before retry number n: minBackoff doubled per
// failure, at most maxBackoff and at most the rescan interval.
func backoff(n int, rescan time.Duration) time.Duration {
	d := minBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff, max(rescan, minBackoff))
}

// watchTree adds root and every folder under it to the watcher, skipping
// hidden folders as the loader does. Adding a watched folder again is
// harmless, so the rescan calls it to pick up re-created folders.
func (p *Processor) watchTree(w *fsnotify.Watcher, root string) {
	if w == nil {
		return
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // an unreadable sub-folder is skipped
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if err := w.Add(path); err != nil {
			p.logger().Warn("cannot watch a DAG sub-folder", "dir", path, "err", err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		p.logger().Warn("cannot watch the DAG folder", "dir", root, "err", err)
	}
}
