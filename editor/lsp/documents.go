package lsp

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/starflow-dev/starflow/starlark/lint"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// document is an open editor buffer. Its fields are guarded by Server.mu.
type document struct {
	uri     protocol.DocumentUri
	path    string // absolute OS path
	text    string
	version int32

	timer  *time.Timer        // pending debounced analysis
	cancel context.CancelFunc // analysis in flight
	result *analysis          // of the latest version analysed
}

// analysis is what the loader and lint made of one version of a document.
type analysis struct {
	version  int32
	root     string // the folder load("//...") paths start from
	file     *loader.File
	findings []lint.Finding
}

// stop cancels the document's pending and running analyses; s.mu must
// be held.
func (s *Server) stop(d *document) {
	if d.timer != nil {
		if d.timer.Stop() {
			s.wg.Done() // its function will not run
		}
		d.timer = nil
	}
	if d.cancel != nil {
		d.cancel()
		d.cancel = nil
	}
}

// uriPath returns the OS path of a file: URI.
func uriPath(uri protocol.DocumentUri) string {
	u, err := url.Parse(string(uri))
	if err != nil || u.Scheme != "file" {
		return string(uri)
	}
	return filepath.FromSlash(u.Path)
}

// pathURI returns the file: URI of an OS path.
func pathURI(path string) protocol.DocumentUri {
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	return protocol.DocumentUri((&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String())
}

func (s *Server) open(ctx context.Context, uri protocol.DocumentUri, text string, version int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[uri]
	if d == nil {
		d = &document{uri: uri, path: uriPath(uri)}
		s.docs[uri] = d
	}
	d.text, d.version = text, version
	s.schedule(ctx, d)
	s.dependents(ctx, d)
}

func (s *Server) change(ctx context.Context, uri protocol.DocumentUri, r *protocol.Range, text string, version int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.docs[uri]
	if d == nil {
		return
	}
	if r == nil {
		d.text = text
	} else {
		start, end := offset(d.text, r.Start), offset(d.text, r.End)
		if end < start {
			start, end = end, start
		}
		d.text = d.text[:start] + text + d.text[end:]
	}
	d.version = version
	s.schedule(ctx, d)
	s.dependents(ctx, d)
}

// dependents schedules again the analysis of the open documents that
// load d, since they read d's buffer. s.mu must be held.
func (s *Server) dependents(ctx context.Context, d *document) {
	for _, o := range s.docs {
		if o == d || o.result == nil {
			continue
		}
		rel, err := filepath.Rel(o.result.root, d.path)
		if err != nil {
			continue
		}
		if _, ok := o.result.file.Sources[filepath.ToSlash(rel)]; ok {
			o.result = nil // stale: requests evaluate it again
			s.schedule(ctx, o)
		}
	}
}

func (s *Server) close(ctx context.Context, uri protocol.DocumentUri) {
	s.mu.Lock()
	d := s.docs[uri]
	if d != nil {
		s.stop(d)
		delete(s.docs, uri)
		s.dependents(ctx, d)
	}
	s.mu.Unlock()
	if d != nil {
		s.send("textDocument/publishDiagnostics", &protocol.PublishDiagnosticsParams{URI: uri, Diagnostics: []protocol.Diagnostic{}})
	}
}

// snapshot is a consistent copy of a document and of every open buffer,
// for one analysis.
type snapshot struct {
	uri     protocol.DocumentUri
	path    string
	text    string
	version int32
	buffers map[string]string // absolute OS path -> text
}

// snap copies d and the open buffers; s.mu must be held.
func (s *Server) snap(d *document) *snapshot {
	sn := &snapshot{uri: d.uri, path: d.path, text: d.text, version: d.version, buffers: map[string]string{}}
	for _, o := range s.docs {
		sn.buffers[o.path] = o.text
	}
	return sn
}

// root returns the folder a document's load("//...") paths start from
// and the document's slash path relative to it.
func (s *Server) root(path string) (root, rel string) {
	if s.opts.DAGsFolder != "" {
		if dir, err := filepath.Abs(s.opts.DAGsFolder); err == nil {
			if r, err := filepath.Rel(dir, path); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r) {
				return dir, filepath.ToSlash(r)
			}
		}
	}
	return filepath.Dir(path), filepath.Base(path)
}

// evaluate runs the loader and lint over a snapshot: the buffer's text
// for the document, open buffers or the disk for the files it loads.
func (s *Server) evaluate(ctx context.Context, sn *snapshot) *analysis {
	root, rel := s.root(sn.path)
	src := loader.Source{FS: overlay{base: os.DirFS(root), root: root, buffers: sn.buffers, self: rel, text: sn.text}, Dir: root}
	f := s.opts.Loader.Load(ctx, src, rel)
	lf := lint.File{Path: f.Name, Source: []byte(sn.text), DAGs: f.DAGs, Errors: f.Errors}
	return &analysis{version: sn.version, root: root, file: f, findings: lint.Check(lf, s.opts.Lint)}
}

// overlay is the DAG folder on disk with open buffers over it.
type overlay struct {
	base    fs.FS
	root    string
	buffers map[string]string
	self    string // the document's own path, whose text is text
	text    string
}

// Open opens name, from a buffer when one is open for it.
func (o overlay) Open(name string) (fs.File, error) {
	if name == o.self {
		return fstest.MapFS{name: {Data: []byte(o.text), Mode: 0o444}}.Open(name)
	}
	if t, ok := o.buffers[filepath.Join(o.root, filepath.FromSlash(name))]; ok {
		return fstest.MapFS{name: {Data: []byte(t), Mode: 0o444}}.Open(name)
	}
	return o.base.Open(name)
}

// current returns the analysis of the document's current version,
// evaluating it now when the debounced one is not there yet.
func (s *Server) current(ctx context.Context, uri protocol.DocumentUri) (*snapshot, *analysis) {
	s.mu.Lock()
	d := s.docs[uri]
	if d == nil {
		s.mu.Unlock()
		return nil, nil
	}
	sn := s.snap(d)
	if d.result != nil && d.result.version == d.version {
		a := d.result
		s.mu.Unlock()
		return sn, a
	}
	s.mu.Unlock()
	a := s.evaluate(ctx, sn)
	s.mu.Lock()
	if d.version == sn.version && ctx.Err() == nil {
		d.result = a
	}
	s.mu.Unlock()
	return sn, a
}
