package lsp

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/starflow-dev/starflow/operators"
)

// taskIDKeywords are keywords whose strings name tasks.
var taskIDKeywords = []string{"task_ids", "task_id_or_ids", "follow_task_ids_if_true", "follow_task_ids_if_false", "upstream", "downstream"}

// isTaskBuiltin reports whether name creates a task.
func (s *Server) isTaskBuiltin(name string) bool {
	if _, ok := s.specs[name]; ok {
		return true
	}
	return builtinDocs[name].task
}

// keywords returns the keywords a call of the builtin takes.
func (s *Server) keywords(name string) []string {
	if sp, ok := s.specs[name]; ok {
		kws := []string{"task_id"}
		for _, p := range sp.Params {
			kws = append(kws, p.Name)
		}
		return append(kws, s.common...)
	}
	b, ok := builtinDocs[name]
	if !ok {
		return nil
	}
	if b.task {
		return append(append([]string{"task_id"}, b.keywords...), s.common...)
	}
	return b.keywords
}

func (s *Server) completion(ctx context.Context, params json.RawMessage) (any, error) {
	var p protocol.CompletionParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	sn, a := s.current(ctx, p.TextDocument.URI)
	if sn == nil {
		return &protocol.CompletionList{Items: []protocol.CompletionItem{}}, nil
	}
	off := offset(sn.text, p.Position)
	cur := scan(sn.text, off)
	items := []protocol.CompletionItem{}
	add := func(label string, kind protocol.CompletionItemKind, detail, insert string) {
		it := protocol.CompletionItem{Label: label, Kind: ptr(kind)}
		if detail != "" {
			it.Detail = ptr(detail)
		}
		if insert != "" {
			it.InsertText = ptr(insert)
		}
		items = append(items, it)
	}
	sy := parse(sn.path, sn.text, s.isTaskBuiltin)
	if cur.inString && inTemplate(sn.text, off) {
		for _, name := range slices.Sorted(maps.Keys(templateDocs)) {
			add(name, protocol.CompletionItemKindVariable, templateDocs[name], "")
		}
		return &protocol.CompletionList{Items: items}, nil
	}
	if cur.inString {
		if cur.call == "xcom_pull" || slices.Contains(taskIDKeywords, cur.keyword) {
			seen := map[string]bool{}
			for _, d := range a.file.DAGs {
				for _, id := range d.TaskIDs() {
					if !seen[id] {
						seen[id] = true
						add(id, protocol.CompletionItemKindValue, "task of DAG "+d.ID, "")
					}
				}
			}
			if sy != nil {
				// The file may not load while it is edited: the task_id
				// strings of its calls stand in.
				for _, id := range sy.taskIDs {
					if !seen[id] {
						seen[id] = true
						add(id, protocol.CompletionItemKindValue, "task", "")
					}
				}
			}
		}
		return &protocol.CompletionList{Items: items}, nil
	}
	if cur.shift && sy != nil {
		// Tasks in a >> or << expression: the variables holding them.
		names := make([]string, 0, len(sy.taskVars))
		for name := range sy.taskVars {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			add(name, protocol.CompletionItemKindVariable, sy.taskVars[name]+" task", "")
		}
		return &protocol.CompletionList{Items: items}, nil
	}
	if cur.call != "" && !cur.callDot && !cur.inValue {
		for _, kw := range s.keywords(cur.call) {
			add(kw+" =", protocol.CompletionItemKindProperty, s.keywordDetail(cur.call, kw), kw+" = ")
		}
	}
	for _, name := range s.builtins {
		detail := "builtin"
		if sp, ok := s.specs[name]; ok {
			detail = sp.Doc
		} else if b, ok := builtinDocs[name]; ok {
			detail = b.signature
		}
		add(name, protocol.CompletionItemKindFunction, detail, "")
	}
	if sy != nil {
		names := make([]string, 0, len(sy.defs))
		for name := range sy.defs {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			add(name, protocol.CompletionItemKindVariable, "defined in this file", "")
		}
	}
	return &protocol.CompletionList{Items: items}, nil
}

// keywordDetail is a keyword's one-line description in a call of fn.
func (s *Server) keywordDetail(fn, kw string) string {
	if sp, ok := s.specs[fn]; ok {
		if p := findParam(sp, kw); p != nil {
			return paramSummary(p)
		}
	}
	if kw == "task_id" {
		return "string, required: the task's id, unique in the DAG"
	}
	if slices.Contains(s.common, kw) {
		return commonDoc
	}
	return ""
}

func findParam(sp operators.Spec, name string) *operators.Param {
	for i := range sp.Params {
		if sp.Params[i].Name == name {
			return &sp.Params[i]
		}
	}
	return nil
}

// paramSummary is "type, required|default X, templated: doc".
func paramSummary(p *operators.Param) string {
	parts := []string{string(p.Type)}
	switch {
	case p.Required:
		parts = append(parts, "required")
	case p.Default != nil:
		parts = append(parts, "default "+formatDefault(p.Default))
	}
	if p.Templated {
		parts = append(parts, "templated")
	}
	if p.XCom {
		parts = append(parts, "accepts .output")
	}
	if len(p.Choices) > 0 {
		parts = append(parts, "one of "+strings.Join(p.Choices, ", "))
	}
	out := strings.Join(parts, ", ")
	if p.Doc != "" {
		out += ": " + p.Doc
	}
	return out
}

func formatDefault(v any) string {
	if b, err := json.Marshal(v); err == nil {
		if s, ok := v.(interface{ String() string }); ok {
			return s.String()
		}
		return string(b)
	}
	return "?"
}
