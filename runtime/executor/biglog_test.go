package executor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/sqlite"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// dbBytes is the size of a SQLite database with its WAL.
func dbBytes(t *testing.T, path string) int64 {
	t.Helper()
	var n int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestHundredMegabyteLogStaysOutOfTheDatabase: a try that logs 100 MB
// grows the metadata database by less than 1 MB (the log goes to its
// file; the database holds one index row), and the log reads back whole,
// from the start in the readers' chunks and from an offset near its end
// (the UI's tail).
func TestHundredMegabyteLogStaysOutOfTheDatabase(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "starflow.db")
	st, err := sqlite.Open(context.Background(), "sqlite://"+dbPath, testdb.Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const total = 100 << 20
	// 1 MiB of numbered lines, written 100 times (whole lines each time).
	var block bytes.Buffer
	for i := 0; block.Len() < 1<<20-200; i++ {
		fmt.Fprintf(&block, "%07d %s\n", i, strings.Repeat("0123456789abcdef", 6))
	}
	sum := sha256.New()
	written := 0
	e := newEnv(t, st, task{id: "chatty", op: func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		for written < total {
			sum.Write(block.Bytes())
			if _, err := c.Log.Write(block.Bytes()); err != nil {
				return nil, err
			}
			written += block.Len()
		}
		return operators.Success(nil), nil
	}})
	st.Close() // checkpoint, to start from the database's true size
	before := dbBytes(t, dbPath)
	if st, err = sqlite.Open(context.Background(), "sqlite://"+dbPath, testdb.Options(t)); err != nil {
		t.Fatal(err)
	}
	e.w.Store, e.st = st, st
	e.w.Logs.Store = st
	e.queueTry("chatty", 1)
	stop := e.start()
	// Poll with a deadline fit for 100 MB under the race detector.
	for deadline := time.Now().Add(5 * time.Minute); e.ti("chatty").State != dags.TaskStateSuccess; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("chatty is %s after 5 minutes, want success", e.ti("chatty").State)
		}
	}
	e.waitDrained()
	stop()
	// Closing checkpoints the WAL (heartbeats rewrite pages in it): what
	// stays is the database's real growth.
	e.w.Store.Close()
	growth := dbBytes(t, dbPath) - before
	st, err = sqlite.Open(context.Background(), "sqlite://"+dbPath, testdb.Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := tasklog.New(st, e.w.Logs.Dir, "")
	if growth >= 1<<20 {
		t.Errorf("the database grew by %d bytes for a %d-byte log, want < 1 MiB", growth, written)
	}
	t.Logf("log of %d bytes grew the database by %d bytes", written, growth)

	ctx := context.Background()
	key := e.key("chatty")
	row, err := st.TaskLogFileGet(ctx, key, 1)
	if err != nil {
		t.Fatal(err)
	}
	if row.Size < int64(written) || row.Path != tasklog.RelPath(key, 1) {
		t.Fatalf("index row %+v; want the path of try 1 and at least %d bytes", row, written)
	}
	// Read it all as the API does: chunk by chunk from offset 0.
	got := sha256.New()
	var off int64
	var head []byte
	for {
		c, err := logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 1, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Data) == 0 {
			break
		}
		if len(c.Data) > store.MaxLogChunkBytes || c.NextOffset != off+int64(len(c.Data)) {
			t.Fatalf("chunk at %d: %d bytes, next %d", off, len(c.Data), c.NextOffset)
		}
		if head == nil {
			head = c.Data
		}
		got.Write(c.Data)
		off = c.NextOffset
	}
	if off != row.Size {
		t.Errorf("read %d bytes, the index says %d", off, row.Size)
	}
	// The worker adds its own first line; the task's lines follow whole.
	start := bytes.IndexByte(head, '\n') + 1
	if !strings.Contains(string(head[:start]), "starting try 1") || !strings.HasPrefix(string(head[start:]), "0000000 0123") {
		t.Errorf("log starts %q", head[:min(len(head), 200)])
	}
	whole, err := os.ReadFile(filepath.Join(e.w.Logs.Dir, filepath.FromSlash(row.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x", sha256.Sum256(whole)) != fmt.Sprintf("%x", got.Sum(nil)) {
		t.Error("the chunked read differs from the file")
	}
	task := whole[start:]
	if len(task) != written || fmt.Sprintf("%x", sha256.Sum256(task)) != fmt.Sprintf("%x", sum.Sum(nil)) {
		t.Errorf("the task's %d bytes came back as %d different bytes", written, len(task))
	}
	// The tail, as the UI shows a long log.
	tail, err := logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: 1, Offset: row.Size - 4096, Limit: 8192})
	if err != nil || !bytes.Equal(tail.Data, whole[len(whole)-4096:]) || tail.NextOffset != row.Size {
		t.Errorf("tail read: %d bytes next %d, %v; want the last 4096 bytes", len(tail.Data), tail.NextOffset, err)
	}
}
