package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// triggerPage is the trigger form: one input per DAG param, a JSON conf
// for anything else, the logical date and an optional run id.
type triggerPage struct {
	DAG         *store.DAG
	Params      []*paramField
	Conf        string
	LogicalDate string
	RunID       string
	Error       string
}

func (p *triggerPage) title() string { return p.DAG.DagID + " · Trigger" }

// paramField is one DAG param as a form input.
type paramField struct {
	Name string
	// Kind is the input kind: "string", "number", "bool" or "json" (lists,
	// dicts and None, edited as JSON).
	Kind    string
	Value   string
	Checked bool
	Default any
}

// paramFields turns DAG params into inputs prefilled with their defaults,
// sorted by name.
func paramFields(params map[string]any) []*paramField {
	out := make([]*paramField, 0, len(params))
	for name, v := range params {
		f := &paramField{Name: name, Default: v}
		switch x := v.(type) {
		case string:
			f.Kind, f.Value = "string", x
		case bool:
			f.Kind, f.Checked = "bool", x
		case int64, int, float64:
			f.Kind, f.Value = "number", fmt.Sprint(x)
		default:
			f.Kind = "json"
			b, err := json.Marshal(x)
			if err != nil {
				b = []byte("null")
			}
			f.Value = string(b)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (h *handler) triggerForm(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permTrigger) {
		return
	}
	p, err := h.loadTrigger(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Conf = "{}"
	h.render(w, r, http.StatusOK, "trigger", p)
}

func (h *handler) loadTrigger(r *http.Request) (*triggerPage, error) {
	ctx := r.Context()
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		return nil, err
	}
	d, err := h.DAGs.DAG(ctx, dagID, dag.SourceHash)
	if err != nil {
		return nil, fmt.Errorf("load DAG %s: %w", dagID, err)
	}
	return &triggerPage{DAG: dag, Params: paramFields(d.Params)}, nil
}

// trigger creates a manual run from the form and sends the user to the
// grid; a bad form is shown again with the error and what was typed.
func (h *handler) trigger(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permTrigger) || !h.canAct(w, r) {
		return
	}
	p, err := h.loadTrigger(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Conf, p.LogicalDate, p.RunID = r.FormValue("conf"), r.FormValue("logical_date"), strings.TrimSpace(r.FormValue("run_id"))
	conf, logical, err := readTriggerForm(r, p)
	if err == nil {
		var run *store.DagRun
		run, err = h.Scheduler.Trigger(r.Context(), scheduler.TriggerParams{DAGID: p.DAG.DagID, LogicalDate: logical, RunID: p.RunID, Conf: conf}, h.Now())
		if err == nil {
			h.Logger.Info("ui: triggered", "dag_id", run.DagID, "run_id", run.RunID, "user", userName(r))
			http.Redirect(w, r, dagURL(p.DAG.DagID, "grid"), http.StatusSeeOther)
			return
		}
	}
	var he *httpError
	if !errors.As(err, &he) && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrTooLarge) {
		h.fail(w, r, err)
		return
	}
	p.Error = err.Error()
	h.render(w, r, http.StatusBadRequest, "trigger", p)
}

// readTriggerForm builds the run's conf (the JSON conf overlaid with the
// param inputs) and its logical date (UTC; zero means now). It keeps the
// typed values in p so the form can be shown again.
func readTriggerForm(r *http.Request, p *triggerPage) (map[string]any, time.Time, error) {
	conf := map[string]any{}
	if s := strings.TrimSpace(p.Conf); s != "" {
		v, err := decodeJSON(s)
		if err != nil {
			return nil, time.Time{}, errorf(http.StatusBadRequest, "conf is not valid JSON: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, time.Time{}, errorf(http.StatusBadRequest, "conf must be a JSON object")
		}
		conf = m
	}
	for _, f := range p.Params {
		raw := r.FormValue("param." + f.Name)
		f.Value, f.Checked = raw, raw == "on" || raw == "true"
		switch f.Kind {
		case "bool":
			conf[f.Name] = f.Checked
		case "string":
			conf[f.Name] = raw
		case "number":
			if n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err == nil {
				conf[f.Name] = n
			} else if x, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err == nil {
				conf[f.Name] = x
			} else {
				return nil, time.Time{}, errorf(http.StatusBadRequest, "param %s must be a number, not %q", f.Name, raw)
			}
		default:
			v, err := decodeJSON(raw)
			if err != nil {
				return nil, time.Time{}, errorf(http.StatusBadRequest, "param %s is not valid JSON: %v", f.Name, err)
			}
			conf[f.Name] = v
		}
	}
	logical, err := parseLogicalDate(p.LogicalDate)
	if err != nil {
		return nil, time.Time{}, err
	}
	return conf, logical, nil
}

// decodeJSON decodes one JSON value, integers as int64 as DAG params hold
// them.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

// parseLogicalDate reads the form's logical date: empty (now), an HTML
// datetime-local value in UTC, a date, or RFC 3339.
func parseLogicalDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errorf(http.StatusBadRequest, "logical date %q is not a date such as 2024-01-01T00:00 (UTC) or RFC 3339", s)
}

// prettyJSON indents a JSON-encodable value for display.
func prettyJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}
