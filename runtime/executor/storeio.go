package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// Task-log buffering: a try's log reaches the store at most every
// logFlushEvery, sooner once logFlushBytes are waiting; a writer blocks
// while logMaxBuffered bytes wait (the store is slow or down), so a chatty
// task cannot fill the worker's memory.
const (
	logFlushEvery  = 200 * time.Millisecond
	logFlushBytes  = 64 << 10
	logMaxBuffered = 4 << 20
)

// taskLog is the io.Writer a try logs to. It masks secrets a line at a
// time, keeps an optional local copy, and appends to the store's task log
// from a background goroutine; Close flushes the last lines.
type taskLog struct {
	st     store.Store
	key    store.TaskInstanceKey
	try    int
	masker *secrets.Masker
	file   *os.File
	logger *slog.Logger
	// ctx bounds the store writes; it outlives the try's own context so
	// that the lines of a cancelled try still reach the store.
	ctx context.Context

	mu      sync.Mutex
	drained *sync.Cond // signalled after each flush
	partial []byte     // the unterminated last line, not masked yet
	buf     []byte     // masked, waiting for the store
	dropped bool       // the store refused the log for good
	closed  bool

	flushMu   sync.Mutex // serialises flushes, keeping the log in order
	lastFlush time.Time
	kick      chan struct{} // data waits
	full      chan struct{} // logFlushBytes wait
	stop      chan struct{}
	done      chan struct{}
}

// newTaskLog starts the log writer of one try. localDir, when not empty,
// receives a copy of the log in Airflow's layout.
func newTaskLog(ctx context.Context, st store.Store, key store.TaskInstanceKey, try int, masker *secrets.Masker, localDir string, logger *slog.Logger) *taskLog {
	l := &taskLog{
		st: st, key: key, try: try, masker: masker, logger: logger, ctx: ctx,
		lastFlush: time.Now(),
		kick:      make(chan struct{}, 1),
		full:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	l.drained = sync.NewCond(&l.mu)
	if localDir != "" {
		f, err := openLocalLog(localDir, key, try)
		if err != nil {
			logger.Warn("no local copy of the task log", "task_instance", key.String(), "err", err)
		}
		l.file = f
	}
	go l.loop()
	return l
}

// localLogPath is where the local copy of a try's log goes:
// dir/dag_id=D/run_id=R/task_id=T[/map_index=N]/attempt=N.log.
func localLogPath(dir string, key store.TaskInstanceKey, try int) string {
	safe := strings.NewReplacer("/", "_", ":", "_", "+", "_", "\\", "_")
	parts := []string{dir, "dag_id=" + safe.Replace(key.DagID), "run_id=" + safe.Replace(key.RunID), "task_id=" + safe.Replace(key.TaskID)}
	if key.MapIndex != store.NoMapIndex {
		parts = append(parts, fmt.Sprintf("map_index=%d", key.MapIndex))
	}
	return filepath.Join(append(parts, fmt.Sprintf("attempt=%d.log", try))...)
}

func openLocalLog(dir string, key store.TaskInstanceKey, try int) (*os.File, error) {
	path := localLogPath(dir, key, try)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create task log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create task log: %w", err)
	}
	return f, nil
}

// Write takes log text; complete lines are masked and queued for the
// store, an unterminated line waits for its end (or for Close).
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

// queue masks text and adds it to the buffer and the local copy. Call with
// l.mu held.
func (l *taskLog) queue(text []byte) {
	if l.masker != nil {
		text = []byte(l.masker.Mask(string(text)))
	}
	if l.file != nil {
		if _, err := l.file.Write(text); err != nil {
			l.logger.Warn("local task log write failed", "task_instance", l.key.String(), "err", err)
			l.file.Close()
			l.file = nil
		}
	}
	if l.dropped {
		return
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

// flush appends the waiting text to the store, in chunks the store
// accepts, retrying transient errors until l.ctx ends.
func (l *taskLog) flush() {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	data := l.buf
	l.buf = nil
	l.mu.Unlock()
	l.lastFlush = time.Now()
	l.write(data)
	l.mu.Lock()
	l.drained.Broadcast()
	l.mu.Unlock()
}

// write appends data to the store's log of the try, in chunks the store
// accepts; a permanent error drops the rest of the log.
func (l *taskLog) write(data []byte) {
	for len(data) > 0 {
		n := min(len(data), store.MaxLogChunkBytes)
		err := retryStore(l.ctx, l.logger, "append to task log", func(ctx context.Context) error {
			_, err := l.st.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: l.key, TryNumber: l.try, Data: data[:n]})
			return err
		})
		if err != nil {
			l.logger.Error("task log lines lost", "task_instance", l.key.String(), "try", l.try, "bytes", len(data), "err", err)
			if permanent(err) {
				l.mu.Lock()
				l.dropped = true
				l.buf = nil
				l.mu.Unlock()
			}
			return
		}
		data = data[n:]
	}
}

// Close stops the flusher, queues the unterminated last line and flushes
// everything. Writes after Close fail; closing twice does nothing.
func (l *taskLog) Close() error {
	tail, err := l.CloseTail()
	l.write(tail)
	return err
}

// CloseTail is Close without the last append: it returns the text still
// waiting (at most store.MaxLogChunkBytes; what is more is appended
// first), which the caller writes in the transaction that records the
// try's outcome (store.TaskInstanceEndParams.Log), or with WriteTail when
// that transaction loses. A second call returns nothing.
func (l *taskLog) CloseTail() ([]byte, error) {
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
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	data := l.buf
	l.buf = nil
	l.drained.Broadcast()
	var err error
	if l.file != nil {
		err = l.file.Close()
		l.file = nil
		if err != nil {
			err = fmt.Errorf("close local task log: %w", err)
		}
	}
	l.mu.Unlock()
	if len(data) > store.MaxLogChunkBytes {
		cut := len(data) - store.MaxLogChunkBytes
		l.write(data[:cut])
		data = data[cut:]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped {
		return nil, err
	}
	return data, err
}

// WriteTail appends a tail that CloseTail returned and the outcome's
// transaction did not write.
func (l *taskLog) WriteTail(tail []byte) { l.write(tail) }

// storeXCom is the operators.XCom of one task instance, kept in the store.
type storeXCom struct {
	st  store.Store
	key store.TaskInstanceKey
}

// Pull reads what taskID pushed under key in the same run (map index -1).
func (x storeXCom) Pull(ctx context.Context, taskID, key string) (any, bool, error) {
	return store.PullXCom(ctx, x.st, x.key.DagID, x.key.RunID, taskID, key, false)
}

// Push stores value under key for this task instance.
func (x storeXCom) Push(ctx context.Context, key string, value any) error {
	if err := x.st.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: x.key, Key: key, Value: value}); err != nil {
		return fmt.Errorf("push xcom %q: %w", key, err)
	}
	return nil
}

// storeVariables reads variables from the store; the values of secret
// variables are added to the masker so that they never reach a log.
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
	if got.Secret && v.masker != nil {
		v.masker.Add(got.Value)
	}
	return got.Value, true, nil
}

// storeConnections reads connections from the store; their passwords are
// added to the masker.
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
	if got.Password != "" && c.masker != nil {
		c.masker.Add(got.Password)
	}
	conn := got.Connection
	return &conn, nil
}
