package lsp

import (
	"context"
	"encoding/json"
	"strings"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/starflow-dev/starflow/dags"
)

// documentSymbol lists the document's DAGs with their task groups and
// tasks, as the loader built them, at the positions they were defined.
func (s *Server) documentSymbol(ctx context.Context, params json.RawMessage) (any, error) {
	var p protocol.DocumentSymbolParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	sn, a := s.current(ctx, p.TextDocument.URI)
	out := []protocol.DocumentSymbol{}
	if sn == nil {
		return out, nil
	}
	at := func(pos dags.Pos, fallback protocol.Range) protocol.Range {
		if pos.File != a.file.Name || !pos.IsValid() {
			return fallback
		}
		r := rangeAt(sn.text, pos.Line, pos.Col)
		return r
	}
	for _, d := range a.file.DAGs {
		dr := at(d.Pos, protocol.Range{})
		dag := protocol.DocumentSymbol{Name: d.ID, Detail: ptr("DAG"), Kind: protocol.SymbolKindClass, Range: dr, SelectionRange: dr}
		groups := map[string]*protocol.DocumentSymbol{}
		var order []string
		for _, t := range d.Tasks() {
			tr := at(t.Pos, dr)
			sym := protocol.DocumentSymbol{Name: t.ID, Detail: ptr(t.Operator), Kind: protocol.SymbolKindMethod, Range: tr, SelectionRange: tr}
			if t.Group == "" {
				dag.Children = append(dag.Children, sym)
				continue
			}
			// Nested groups are flattened to their full id.
			g := groups[t.Group]
			if g == nil {
				g = &protocol.DocumentSymbol{Name: t.Group, Detail: ptr("task group"), Kind: protocol.SymbolKindNamespace, Range: tr, SelectionRange: tr}
				groups[t.Group] = g
				order = append(order, t.Group)
			}
			sym.Name = strings.TrimPrefix(t.ID, t.Group+".")
			g.Children = append(g.Children, sym)
		}
		for _, id := range order {
			dag.Children = append(dag.Children, *groups[id])
		}
		out = append(out, dag)
	}
	return out, nil
}
