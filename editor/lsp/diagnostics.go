package lsp

import (
	"context"
	"fmt"
	"strings"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/starflow-dev/starflow/starlark/lint"
)

// schedule (re)starts a document's debounce timer: the analysis runs once
// the changes pause, and a newer change cancels an analysis still
// running. s.mu must be held.
func (s *Server) schedule(ctx context.Context, d *document) {
	s.stop(d)
	if s.closed {
		return
	}
	actx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	s.wg.Add(1)
	d.timer = time.AfterFunc(s.opts.Debounce, func() {
		defer s.wg.Done()
		s.mu.Lock()
		if actx.Err() != nil {
			s.mu.Unlock()
			return
		}
		sn := s.snap(d)
		s.mu.Unlock()
		a := s.evaluate(actx, sn)
		s.mu.Lock()
		stale := actx.Err() != nil || d.version != sn.version
		if !stale {
			d.result = a
		}
		s.mu.Unlock()
		if stale {
			return
		}
		s.send("textDocument/publishDiagnostics", &protocol.PublishDiagnosticsParams{
			URI: sn.uri, Version: ptr(protocol.UInteger(sn.version)), Diagnostics: diagnostics(sn, a),
		})
	})
}

// diagnostics turns lint findings into LSP diagnostics: those of the
// document at their ranges, those of a file it loads on the load() line.
func diagnostics(sn *snapshot, a *analysis) []protocol.Diagnostic {
	out := []protocol.Diagnostic{}
	for _, f := range a.findings {
		var r protocol.Range
		msg := f.Message
		if f.Pos.File == a.file.Name || f.Pos.File == sn.path {
			r = rangeAt(sn.text, f.Pos.Line, f.Pos.Col)
		} else {
			r = loadRange(sn.text, f.Pos.File, a.root)
			msg = fmt.Sprintf("%s: %s", f.Pos, f.Message)
		}
		sev := protocol.DiagnosticSeverityError
		switch f.Severity {
		case lint.SeverityWarning:
			sev = protocol.DiagnosticSeverityWarning
		}
		out = append(out, protocol.Diagnostic{
			Range: r, Severity: ptr(sev), Code: &protocol.IntegerOrString{Value: f.Rule},
			Source: ptr("starflow"), Message: msg,
		})
	}
	return out
}

// loadRange is the range of the load() line of the document that loads
// file, or the first line when none does.
func loadRange(text, file, root string) protocol.Range {
	if sy := parse("doc", text, func(string) bool { return false }); sy != nil {
		for _, l := range sy.loads {
			if modulePath(l.module, root, "") == file || strings.HasSuffix(file, strings.TrimPrefix(l.module, "//")) {
				return rangeAt(text, int(l.start.Line), int(l.start.Col))
			}
		}
	}
	return protocol.Range{End: protocol.Position{Character: 0}}
}
