package lsp

import (
	"context"
	"encoding/json"

	protocol "github.com/tliron/glsp/protocol_3_16"
	"go.starlark.net/syntax"
)

// definition goes to where a name is bound: a def or assignment of the
// document, or, through load(), the def or assignment in the loaded file;
// on a load() module string, to that file.
func (s *Server) definition(ctx context.Context, params json.RawMessage) (any, error) {
	var p protocol.DefinitionParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	sn, a := s.current(ctx, p.TextDocument.URI)
	if sn == nil {
		return nil, nil
	}
	sy := parse(sn.path, sn.text, s.isTaskBuiltin)
	if sy == nil {
		return nil, nil
	}
	off := offset(sn.text, p.Position)
	pos := position(sn.text, off)
	line, col := int32(pos.Line)+1, int32(pos.Character)+1
	for _, l := range sy.loads {
		if l.start.Line == line && col >= l.start.Col && (l.end.Line > line || col <= l.end.Col) {
			return &protocol.Location{URI: pathURI(modulePath(l.module, a.root, sn.path))}, nil
		}
	}
	word, _, _ := wordAt(sn.text, off)
	if word == "" {
		return nil, nil
	}
	for _, l := range sy.loads {
		remote, ok := l.names[word]
		if !ok {
			continue
		}
		path := modulePath(l.module, a.root, sn.path)
		text, ok := readFile(path, sn.buffers)
		if !ok {
			return nil, nil
		}
		loc := &protocol.Location{URI: pathURI(path)}
		if other := parse(path, text, s.isTaskBuiltin); other != nil {
			if at, ok := other.defs[remote]; ok {
				loc.Range = identRange(text, at, remote)
			}
		}
		return loc, nil
	}
	if at, ok := sy.defs[word]; ok {
		return &protocol.Location{URI: sn.uri, Range: identRange(sn.text, at, word)}, nil
	}
	return nil, nil
}

// identRange is the range of name at a syntax position of text.
func identRange(text string, at syntax.Position, name string) protocol.Range {
	off := posOffset(text, int(at.Line), int(at.Col))
	return protocol.Range{Start: position(text, off), End: position(text, off+len(name))}
}
