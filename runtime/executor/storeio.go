package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// Task-log buffering: a try's log reaches its file at most every
// logFlushEvery, sooner once logFlushBytes are waiting; a writer blocks
// while logMaxBuffered bytes wait (the disk is slow), so a chatty task
// cannot fill the worker's memory. The database sees one index row per
// try, written when the log opens and when it closes, never per line.
const (
	logFlushEvery  = 200 * time.Millisecond
	logFlushBytes  = 64 << 10
	logMaxBuffered = 4 << 20
)

// taskLog is the io.Writer a try logs to. It masks secrets a line at a
// time and appends to the try's log file (runtime/tasklog) from a
// background goroutine; Close flushes the last lines and records the
// file's size in its index row.
type taskLog struct {
	st     store.Store // the index; nil with no folder
	key    store.TaskInstanceKey
	try    int
	masker *secrets.Masker
	file   *tasklog.Writer // nil: the log is discarded
	logger *slog.Logger
	// ctx bounds the index writes; it outlives the try's own context so
	// that a cancelled try's log is still indexed.
	ctx context.Context

	mu      sync.Mutex
	drained *sync.Cond // signalled after each flush
	partial []byte     // the unterminated last line, not masked yet
	buf     []byte     // masked, waiting for the file
	dropped bool       // the file refused the log for good
	closed  bool

	flushMu   sync.Mutex // serialises flushes, keeping the log in order
	lastFlush time.Time
	kick      chan struct{} // data waits
	full      chan struct{} // logFlushBytes wait
	stop      chan struct{}
	done      chan struct{}
}

// newTaskLog starts the log writer of one try in folder; a nil folder
// discards the log. indexed says the start of the try recorded the file's
// index row already (store.TaskInstanceSetStateParams.LogFile).
func newTaskLog(ctx context.Context, folder *tasklog.Folder, key store.TaskInstanceKey, try int, indexed bool, masker *secrets.Masker, logger *slog.Logger) *taskLog {
	l := &taskLog{
		key: key, try: try, masker: masker, logger: logger, ctx: ctx,
		lastFlush: time.Now(),
		kick:      make(chan struct{}, 1),
		full:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	l.drained = sync.NewCond(&l.mu)
	if folder != nil {
		l.st = folder.Store
		err := retryStore(ctx, logger, "open task log", func(ctx context.Context) error {
			var f *tasklog.Writer
			var err error
			if indexed {
				f, err = folder.Open(key, try)
			} else {
				f, err = folder.Create(ctx, key, try)
			}
			l.file = f
			return err
		})
		if err != nil {
			logger.Error("task log lost: cannot open its file", "task_instance", key.String(), "try", try, "err", err)
		}
	}
	l.dropped = l.file == nil
	go l.loop()
	return l
}

// Write takes log text; complete lines are masked and queued for the
// file, an unterminated line waits for its end (or for Close).
func (l *taskLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, fmt.Errorf("log of %s try %d: %w", l.key, l.try, os.ErrClosed)
	}
	l.partial = append(l.partial, p...)
	end := bytes.LastIndexByte(l.partial, '\n') + 1
	if end == 0 && len(l.partial) >= logFlushBytes {
		end = len(l.partial) // a huge line without an end: let it out
	}
	if end == 0 {
		return len(p), nil
	}
	l.queue(l.partial[:end])
	l.partial = append(l.partial[:0], l.partial[end:]...)
	for len(l.buf) >= logMaxBuffered && !l.dropped {
		l.drained.Wait()
	}
	return len(p), nil
}

// queue masks text and adds it to the buffer. Call with l.mu held.
func (l *taskLog) queue(text []byte) {
	if l.dropped {
		return
	}
	if l.masker != nil {
		text = []byte(l.masker.Mask(string(text)))
	}
	wasEmpty := len(l.buf) == 0
	l.buf = append(l.buf, text...)
	if wasEmpty {
		signal(l.kick)
	}
	if len(l.buf) >= logFlushBytes {
		signal(l.full)
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// loop flushes waiting text at most every logFlushEvery, or as soon as
// logFlushBytes wait.
func (l *taskLog) loop() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
		case <-l.full:
		}
		if wait := time.Until(l.lastFlush.Add(logFlushEvery)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-l.stop:
				t.Stop()
				return
			case <-l.full:
				t.Stop()
			case <-t.C:
			}
		}
		l.flush()
	}
}

// flush appends the waiting text to the file.
func (l *taskLog) flush() {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	data := l.buf
	l.buf = nil
	l.mu.Unlock()
	l.lastFlush = time.Now()
	if len(data) > 0 && l.file != nil {
		if _, err := l.file.Write(data); err != nil {
			l.logger.Error("task log lines lost", "task_instance", l.key.String(), "try", l.try, "bytes", len(data), "err", err)
			l.mu.Lock()
			l.dropped = true
			l.buf = nil
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	l.drained.Broadcast()
	l.mu.Unlock()
}

// Close stops the flusher, queues the unterminated last line, flushes
// everything and records the file's size. Writes after Close fail;
// closing twice does nothing.
func (l *taskLog) Close() error {
	row, err := l.CloseFile()
	if row != nil {
		err = errors.Join(err, l.WriteIndex(row))
	}
	return err
}

// CloseFile is Close without the index write: it returns the file's final
// index row, which the caller records in the transaction of the try's
// outcome (store.TaskInstanceEndParams.LogFile), or with WriteIndex when
// that transaction loses. It returns nil when the log has no file or was
// closed before.
func (l *taskLog) CloseFile() (*store.TaskLogFile, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, nil
	}
	l.closed = true
	if len(l.partial) > 0 {
		l.queue(append(l.partial, '\n'))
		l.partial = nil
	}
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.flush()
	if l.file == nil {
		return nil, nil
	}
	row, err := l.file.CloseFile()
	l.file = nil
	return row, err
}

// WriteIndex records the index row CloseFile returned, retrying
// transient store errors.
func (l *taskLog) WriteIndex(row *store.TaskLogFile) error {
	return retryStore(l.ctx, l.logger, "index task log", func(ctx context.Context) error {
		return l.st.TaskLogFileSet(ctx, row)
	})
}

// storeXCom is the operators.XCom of one task instance, kept in the store.
type storeXCom struct {
	st  store.Store
	key store.TaskInstanceKey
}

// Pull reads what taskID pushed under key in the same run (map index -1).
func (x storeXCom) Pull(ctx context.Context, taskID, key string) (any, bool, error) {
	return store.PullXCom(ctx, x.st, x.key.DagID, x.key.RunID, taskID, key, false)
}

// PullLatest returns the XCom task taskID (map index -1) pushed last in
// this run, whatever its key (operators.XComLatest).
func (x storeXCom) PullLatest(ctx context.Context, taskID string) (any, bool, error) {
	noMap := store.NoMapIndex
	rows, err := x.st.XComList(ctx, &store.XComListParams{DagID: x.key.DagID, RunID: x.key.RunID, TaskID: taskID, MapIndex: &noMap})
	if err != nil {
		return nil, false, fmt.Errorf("pull the latest xcom of %s: %w", taskID, err)
	}
	var last *store.XCom
	for _, r := range rows {
		if last == nil || !r.UpdatedAt.Before(last.UpdatedAt) {
			last = r
		}
	}
	if last == nil {
		return nil, false, nil
	}
	return last.Value, true, nil
}

// Push stores value under key for this task instance.
func (x storeXCom) Push(ctx context.Context, key string, value any) error {
	if err := x.st.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: x.key, Key: key, Value: value}); err != nil {
		return fmt.Errorf("push xcom %q: %w", key, err)
	}
	return nil
}

// storeVariables reads variables from the store; the values of secret
// variables, and of variables with sensitive names as Airflow decides
// (secrets.SensitiveName), are added to the masker so that they never
// reach a log.
type storeVariables struct {
	st     store.Store
	masker *secrets.Masker
}

// Get returns the variable's value and whether it exists.
func (v storeVariables) Get(ctx context.Context, name string) (string, bool, error) {
	got, err := v.st.VariableGet(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("variable %q: %w", name, err)
	}
	if v.masker != nil && (got.Secret || secrets.SensitiveName(name)) {
		v.masker.Add(got.Value)
	}
	return got.Value, true, nil
}

// storeConnections reads connections from the store; their passwords and
// sensitive extra fields are added to the masker.
type storeConnections struct {
	st     store.Store
	masker *secrets.Masker
}

// Get returns the connection; a missing one is an error wrapping
// store.ErrNotFound.
func (c storeConnections) Get(ctx context.Context, connID string) (*operators.Connection, error) {
	got, err := c.st.ConnectionGet(ctx, connID)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", connID, err)
	}
	conn := got.Connection
	envsecrets.MaskConnection(c.masker, &conn)
	return &conn, nil
}
