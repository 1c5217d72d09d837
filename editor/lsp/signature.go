package lsp

import (
	"context"
	"encoding/json"
	"strings"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

func (s *Server) signatureHelp(ctx context.Context, params json.RawMessage) (any, error) {
	var p protocol.SignatureHelpParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	sn, _ := s.current(ctx, p.TextDocument.URI)
	if sn == nil {
		return nil, nil
	}
	cur := scan(sn.text, offset(sn.text, p.Position))
	sp, ok := s.specs[cur.call]
	if !ok || cur.callDot {
		if b, ok := builtinDocs[cur.call]; ok && !cur.callDot {
			return &protocol.SignatureHelp{Signatures: []protocol.SignatureInformation{{Label: b.signature, Documentation: b.doc}}}, nil
		}
		return nil, nil
	}
	label := signature(sp)
	info := protocol.SignatureInformation{Label: label, Documentation: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: specMarkdown(sp)}}
	names := []string{"task_id"}
	for i := range sp.Params {
		names = append(names, sp.Params[i].Name)
	}
	// Parameters as label offsets, so that editors highlight the one typed.
	at := len(sp.Kind) + 1
	for i, name := range names {
		l := name
		if i > 0 {
			l = paramLabel(&sp.Params[i-1])
		}
		start := strings.Index(label[at:], l) + at
		var doc any
		if i > 0 {
			doc = paramSummary(&sp.Params[i-1])
		}
		info.Parameters = append(info.Parameters, protocol.ParameterInformation{
			Label: []protocol.UInteger{protocol.UInteger(start), protocol.UInteger(start + len(l))}, Documentation: doc,
		})
		at = start + len(l)
	}
	active := cur.argIndex
	if cur.keyword != "" {
		active = -1
		for i, n := range names {
			if n == cur.keyword {
				active = i
			}
		}
	} else if active > sp.Positional {
		active = -1 // past the positional ones: a keyword is to come
	}
	help := &protocol.SignatureHelp{Signatures: []protocol.SignatureInformation{info}, ActiveSignature: ptr(protocol.UInteger(0))}
	if active >= 0 && active < len(names) {
		help.ActiveParameter = ptr(protocol.UInteger(active))
	}
	return help, nil
}
