package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/starflow-dev/starflow/operators"
)

func (s *Server) hover(ctx context.Context, params json.RawMessage) (any, error) {
	var p protocol.HoverParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	sn, _ := s.current(ctx, p.TextDocument.URI)
	if sn == nil {
		return nil, nil
	}
	off := offset(sn.text, p.Position)
	word, start, end := wordAt(sn.text, off)
	if word == "" {
		return nil, nil
	}
	var md string
	if doc, ok := templateDocs[word]; ok && inTemplate(sn.text, start) {
		md = fmt.Sprintf("**%s** (template variable)\n\n%s", word, doc)
	}
	// A keyword: the word is followed by "=" inside a call.
	if rest := strings.TrimLeft(sn.text[end:], " \t"); md == "" && strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "==") {
		if cur := scan(sn.text, start); cur.call != "" {
			md = s.keywordHover(cur.call, word)
		}
	}
	if md == "" {
		if sp, ok := s.specs[word]; ok {
			md = specMarkdown(sp)
		} else if b, ok := builtinDocs[word]; ok {
			md = fmt.Sprintf("```python\n%s\n```\n\n%s", b.signature, b.doc)
		}
	}
	if md == "" {
		return nil, nil
	}
	return &protocol.Hover{
		Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: md},
		Range:    &protocol.Range{Start: position(sn.text, start), End: position(sn.text, end)},
	}, nil
}

// keywordHover documents keyword kw of a call of fn.
func (s *Server) keywordHover(fn, kw string) string {
	if sp, ok := s.specs[fn]; ok {
		if p := findParam(sp, kw); p != nil {
			return fmt.Sprintf("**%s** `%s` (%s)\n\n%s", kw, fn, p.Type, paramSummary(p))
		}
	}
	if kw == "task_id" && s.isTaskBuiltin(fn) {
		return "**task_id** (string)\n\nThe task's id, unique in its DAG (prefixed by its group's id)."
	}
	if slices.Contains(s.common, kw) && s.isTaskBuiltin(fn) {
		return fmt.Sprintf("**%s**\n\n%s", kw, commonDoc)
	}
	if b, ok := builtinDocs[fn]; ok && slices.Contains(b.keywords, kw) {
		return fmt.Sprintf("**%s**: keyword of `%s`\n\n%s", kw, b.signature, b.doc)
	}
	return ""
}

// specMarkdown documents an operator from its spec: signature, summary
// and one line per keyword.
func specMarkdown(sp operators.Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "```python\n%s\n```\n\n%s\n\n", signature(sp), sp.Doc)
	for i := range sp.Params {
		p := &sp.Params[i]
		fmt.Fprintf(&b, "- `%s`: %s\n", p.Name, paramSummary(p))
	}
	b.WriteString("\nand task_id and the keywords every task takes (retries, pool, ...).")
	return b.String()
}

// signature is "kind(task_id, a, b=default, ...)".
func signature(sp operators.Spec) string {
	parts := []string{"task_id"}
	for i := range sp.Params {
		parts = append(parts, paramLabel(&sp.Params[i]))
	}
	return sp.Kind + "(" + strings.Join(parts, ", ") + ", ...)"
}

func paramLabel(p *operators.Param) string {
	if p.Required || p.Default == nil {
		return p.Name
	}
	return p.Name + "=" + formatDefault(p.Default)
}
