package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// DefaultMemoryLimit is the memory a child may use: far more than a DAG
// file of thousands of tasks needs, far less than a host has.
const DefaultMemoryLimit = 2 << 30

// watchInterval is how often a child's watchdog reads its heap and
// reports the position of its evaluation.
const watchInterval = 5 * time.Millisecond

// exitMemory is the exit code of a child whose watchdog found its heap
// over the limit.
const exitMemory = 3

// NewLoader returns the loader a child evaluates files with; onPos must
// become its Options.OnPosition, and its Isolator must be nil.
type NewLoader func(onPos func(syntax.Position)) *loader.Loader

// Limits are a child's memory limits.
type Limits struct {
	// Memory bounds the child's memory in bytes: the Go memory limit is
	// three quarters of it, and the watchdog ends the child when its live
	// heap passes that. 0 is DefaultMemoryLimit.
	Memory int64
	// Data is the child's RLIMIT_DATA in bytes; 0 is Memory. A binary
	// built with -race raises it (raceDataLimit).
	Data int64
}

// Serve is the child side: it limits its own memory (RLIMIT_DATA, the Go
// memory limit, and a watchdog that exits when the live heap passes it),
// then evaluates the files that in names, one at a time, reporting on
// out, until in ends. A file that exhausts the memory kills the child;
// the parent reports it.
func Serve(ctx context.Context, newLoader NewLoader, in io.Reader, out io.Writer, limits Limits) error {
	memoryLimit := limits.Memory
	if memoryLimit <= 0 {
		memoryLimit = DefaultMemoryLimit
	}
	data := limits.Data
	if data <= 0 {
		data = memoryLimit
	}
	data = max(data, raceDataLimit)
	if err := limitData(data); err != nil {
		return err
	}
	debug.SetMemoryLimit(memoryLimit * 3 / 4)
	s := &server{out: json.NewEncoder(out), files: map[string]*loader.File{}}
	l := newLoader(s.setPos)
	stop := make(chan struct{})
	defer close(stop)
	go s.watch(stop, memoryLimit*3/4)
	s.sql = sqlop.NewPools(0)
	defer s.sql.Close()

	dec := json.NewDecoder(in)
	dec.UseNumber()
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read a request: %w", err)
		}
		s.start(req)
		if req.Call != nil {
			if err := s.call(ctx, l, dec, req.ID, req.Call); err != nil {
				return err
			}
			continue
		}
		f := l.Load(ctx, req.Source(), req.Rel)
		res, _ := f.Result()
		if err := s.send(reply{ID: req.ID, Done: true, Result: res}); err != nil {
			return err
		}
	}
}

// server is a child's state: the evaluation under way and its position.
type server struct {
	wmu sync.Mutex
	out *json.Encoder

	id      atomic.Int64
	mu      sync.Mutex
	pos     syntax.Position
	changed bool
	sent    syntax.Position // the last position written
	sentAt  time.Time

	// files are the DAG versions loaded for calls, by hash; sql pools
	// the connections of their sql module.
	files map[string]*loader.File
	sql   *sqlop.Pools
}

// syncInterval is how often at most setPos writes a new position itself:
// a single huge allocation kills the process before the watchdog runs,
// and the position must already be out.
const syncInterval = time.Millisecond

func (s *server) start(req request) {
	s.id.Store(req.ID)
	s.mu.Lock()
	s.pos = syntax.MakePosition(nil, 0, 0)
	s.changed = false
	s.sent, s.sentAt = s.pos, time.Time{}
	s.mu.Unlock()
}

// setPos records the position the evaluation reached, and writes it
// when it is new and nothing was written for syncInterval.
func (s *server) setPos(p syntax.Position) {
	s.mu.Lock()
	if p == s.sent {
		s.mu.Unlock()
		return
	}
	s.pos, s.changed = p, true
	now := time.Now()
	if now.Sub(s.sentAt) < syncInterval {
		s.mu.Unlock()
		return
	}
	pos, _ := s.takePosLocked()
	s.mu.Unlock()
	_ = s.send(reply{ID: s.id.Load(), Pos: pos})
}

// takePos returns the position if it changed since the last call.
func (s *server) takePos() (*dags.Pos, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takePosLocked()
}

func (s *server) takePosLocked() (*dags.Pos, bool) {
	if !s.changed || !s.pos.IsValid() {
		return nil, false
	}
	s.changed = false
	s.sent, s.sentAt = s.pos, time.Now()
	return &dags.Pos{File: s.pos.Filename(), Line: int(s.pos.Line), Col: int(s.pos.Col)}, true
}

func (s *server) send(r reply) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.out.Encode(r); err != nil {
		return fmt.Errorf("write a reply: %w", err)
	}
	return nil
}

// watch reports the position every watchInterval and ends the process
// when the live heap passes limit: the Go memory limit could not keep it
// under, so the evaluation holds that much.
func (s *server) watch(stop <-chan struct{}, limit int64) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		heap := int64(sample[0].Value.Uint64())
		pos, changed := s.takePos()
		if heap > limit {
			if !changed {
				s.mu.Lock()
				if s.pos.IsValid() {
					pos = &dags.Pos{File: s.pos.Filename(), Line: int(s.pos.Line), Col: int(s.pos.Col)}
				}
				s.mu.Unlock()
			}
			_ = s.send(reply{ID: s.id.Load(), Pos: pos, Memory: true, Heap: heap})
			os.Exit(exitMemory)
		}
		if changed {
			_ = s.send(reply{ID: s.id.Load(), Pos: pos})
		}
	}
}
