package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/lint"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// DefaultDebounce is how long the server waits after the last change of a
// document before it evaluates the document again.
const DefaultDebounce = 150 * time.Millisecond

// Options configure a Server.
type Options struct {
	// Loader evaluates documents, as `starflow lint` does; it must know
	// Operators.
	Loader *loader.Loader
	// Operators are the specs of the operator builtins, for completion,
	// hover and signature help.
	Operators []operators.Spec
	// DAGsFolder is the root of load("//...") paths for the documents
	// inside it; a document elsewhere loads from its own folder.
	DAGsFolder string
	// Lint chooses the lint rules, as `starflow lint --disable`.
	Lint lint.Options
	// Debounce is the pause after a change before diagnostics are
	// computed; DefaultDebounce when zero.
	Debounce time.Duration
	// Logger receives the server's own messages (never the protocol's
	// stream); slog.Default() when nil.
	Logger *slog.Logger
	// Version is reported in the initialize result.
	Version string
}

// Server is one language server session. Create it with New and run it
// with Serve; it is used for one stream.
type Server struct {
	opts     Options
	log      *slog.Logger
	builtins []string
	specs    map[string]operators.Spec
	common   []string

	conn *conn
	wg   sync.WaitGroup // request handlers and analyses
	reqs sync.WaitGroup // request handlers, which shutdown lets finish

	mu          sync.Mutex
	docs        map[protocol.DocumentUri]*document
	requests    map[string]context.CancelFunc
	initialized bool
	shutdown    bool
	closed      bool
}

// New returns a server with the given options.
func New(opts Options) *Server {
	if opts.Debounce == 0 {
		opts.Debounce = DefaultDebounce
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{opts: opts, log: log, builtins: builtins.Names(opts.Operators...), specs: map[string]operators.Spec{},
		common: builtins.CommonKeywords(), docs: map[protocol.DocumentUri]*document{}, requests: map[string]context.CancelFunc{}}
	for _, sp := range opts.Operators {
		s.specs[sp.Kind] = sp
	}
	return s
}

// handler answers one request or notification.
type handler func(ctx context.Context, params json.RawMessage) (any, error)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"initialize":                  s.initialize,
		"shutdown":                    s.handleShutdown,
		"textDocument/completion":     s.completion,
		"textDocument/hover":          s.hover,
		"textDocument/signatureHelp":  s.signatureHelp,
		"textDocument/definition":     s.definition,
		"textDocument/documentSymbol": s.documentSymbol,
	}
}

// errExit ends Serve after the exit notification.
var errExit = errors.New("exit")

// Serve reads messages from r and writes replies and notifications to w
// until the exit notification, the end of r or ctx's end. It returns nil
// on a clean end.
func (s *Server) Serve(ctx context.Context, r io.Reader, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	s.conn = newConn(r, w)
	defer func() {
		cancel()
		s.mu.Lock()
		s.closed = true
		for _, d := range s.docs {
			s.stop(d)
		}
		s.mu.Unlock()
		s.wg.Wait()
	}()
	requests := s.handlers()
	type read struct {
		m   *message
		err error
	}
	msgs := make(chan read)
	go func() {
		for {
			m, err := s.conn.read()
			select {
			case msgs <- read{m, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var in read
		select {
		case <-ctx.Done():
			return nil
		case in = <-msgs:
		}
		if errors.Is(in.err, io.EOF) {
			return nil
		}
		if in.err != nil {
			return in.err
		}
		m := in.m
		if m.Method == "" {
			continue // a response: the server sends no requests
		}
		if m.ID == nil {
			if err := s.notify(ctx, m); errors.Is(err, errExit) {
				return nil
			} else if err != nil {
				s.log.Warn("lsp notification", "method", m.Method, "err", err)
			}
			continue
		}
		h, ok := requests[m.Method]
		if !ok {
			s.replyError(m.ID, codeMethodNotFound, "method not found: "+m.Method)
			continue
		}
		s.mu.Lock()
		ready := s.initialized || m.Method == "initialize"
		s.mu.Unlock()
		if !ready {
			s.replyError(m.ID, codeNotInitialized, "not initialized")
			continue
		}
		if m.Method == "initialize" || m.Method == "shutdown" {
			// In order, before anything that follows; shutdown answers
			// once the requests before it are answered.
			if m.Method == "shutdown" {
				s.reqs.Wait()
			}
			res, err := h(ctx, m.Params)
			s.reply(m.ID, res, err)
			continue
		}
		rctx, rcancel := context.WithCancel(ctx)
		key := string(m.ID)
		s.mu.Lock()
		s.requests[key] = rcancel
		s.mu.Unlock()
		s.wg.Add(1)
		s.reqs.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.reqs.Done()
			defer func() {
				s.mu.Lock()
				delete(s.requests, key)
				s.mu.Unlock()
				rcancel()
			}()
			res, err := s.safe(rctx, h, m.Params)
			if rctx.Err() != nil {
				s.replyError(m.ID, codeRequestCancelled, "request cancelled")
				return
			}
			s.reply(m.ID, res, err)
		}()
	}
}

// safe runs h, turning a panic into an error so that no Go panic ends
// the editor's session.
func (s *Server) safe(ctx context.Context, h handler, params json.RawMessage) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return h(ctx, params)
}

// paramsError marks an error in a request's parameters.
type paramsError struct{ err error }

func (e paramsError) Error() string { return "invalid params: " + e.err.Error() }

func decode(params json.RawMessage, v any) error {
	if err := json.Unmarshal(params, v); err != nil {
		return paramsError{err}
	}
	return nil
}

func (s *Server) reply(id json.RawMessage, res any, err error) {
	if err != nil {
		code := codeInternalError
		var pe paramsError
		if errors.As(err, &pe) {
			code = codeInvalidParams
		}
		s.replyError(id, code, err.Error())
		return
	}
	if werr := s.conn.write(&response{JSONRPC: "2.0", ID: id, Result: res}); werr != nil {
		s.log.Warn("lsp write", "err", werr)
	}
}

func (s *Server) replyError(id json.RawMessage, code int, msg string) {
	if err := s.conn.write(&errResponse{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: code, Message: msg}}); err != nil {
		s.log.Warn("lsp write", "err", err)
	}
}

func (s *Server) send(method string, params any) {
	if err := s.conn.write(&notification{JSONRPC: "2.0", Method: method, Params: params}); err != nil {
		s.log.Warn("lsp write", "err", err)
	}
}

// notify handles a notification, in the order received.
func (s *Server) notify(ctx context.Context, m *message) error {
	switch m.Method {
	case "exit":
		return errExit
	case "initialized", "$/setTrace", "workspace/didChangeConfiguration":
		return nil
	case "$/cancelRequest":
		var p struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return err
		}
		s.mu.Lock()
		cancel := s.requests[string(p.ID)]
		s.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		return nil
	case "textDocument/didOpen":
		var p protocol.DidOpenTextDocumentParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return err
		}
		s.open(ctx, p.TextDocument.URI, p.TextDocument.Text, int32(p.TextDocument.Version))
		return nil
	case "textDocument/didChange":
		var p struct {
			TextDocument   protocol.VersionedTextDocumentIdentifier `json:"textDocument"`
			ContentChanges []struct {
				Range *protocol.Range `json:"range"`
				Text  string          `json:"text"`
			} `json:"contentChanges"`
		}
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return err
		}
		for _, ch := range p.ContentChanges {
			s.change(ctx, p.TextDocument.URI, ch.Range, ch.Text, int32(p.TextDocument.Version))
		}
		return nil
	case "textDocument/didClose":
		var p protocol.DidCloseTextDocumentParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return err
		}
		s.close(ctx, p.TextDocument.URI)
		return nil
	case "textDocument/didSave":
		return nil
	}
	return nil
}

func (s *Server) initialize(ctx context.Context, params json.RawMessage) (any, error) {
	s.mu.Lock()
	s.initialized = true
	s.mu.Unlock()
	version := s.opts.Version
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			TextDocumentSync: protocol.TextDocumentSyncOptions{
				OpenClose: ptr(true),
				Change:    ptr(protocol.TextDocumentSyncKindIncremental),
			},
			CompletionProvider:     &protocol.CompletionOptions{TriggerCharacters: []string{"\"", "'", "(", ",", " ", "."}},
			HoverProvider:          true,
			SignatureHelpProvider:  &protocol.SignatureHelpOptions{TriggerCharacters: []string{"(", ","}},
			DefinitionProvider:     true,
			DocumentSymbolProvider: true,
		},
		ServerInfo: &protocol.InitializeResultServerInfo{Name: "starflow", Version: &version},
	}, nil
}

func (s *Server) handleShutdown(ctx context.Context, params json.RawMessage) (any, error) {
	s.mu.Lock()
	s.shutdown = true
	s.mu.Unlock()
	return nil, nil
}

func ptr[T any](v T) *T { return &v }
