package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
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
	// Label is the param's title, or its name; Help its description.
	Label string
	Help  string
	// Kind is the input kind: "string", "number", "bool", "enum" (a
	// drop-down of Options), "date" or "json" (lists, dicts, None and
	// several types, edited as JSON).
	Kind    string
	Value   string
	Checked bool
	Default any
	// Min, Max and Step bound a number input ("" when unset).
	Min, Max, Step string
	// Options are an enum's values, as JSON, and their labels.
	Options []paramOption
	// Nullable: an empty input means None.
	Nullable bool
}

// paramOption is one choice of an enum param.
type paramOption struct {
	Value, Label string
	Selected     bool
}

// paramFields turns DAG params into inputs prefilled with their defaults,
// sorted by name: a param declared with Param(...) gets the input its
// schema calls for and its title and description; a plain value gets an
// input of its Go type.
func paramFields(params map[string]any, specs map[string]*dags.ParamSpec) []*paramField {
	out := make([]*paramField, 0, len(params)+len(specs))
	names := map[string]bool{}
	for name := range params {
		names[name] = true
	}
	for name := range specs {
		names[name] = true
	}
	for name := range names {
		v, hasValue := params[name]
		f := &paramField{Name: name, Label: name, Default: v}
		spec := specs[name]
		if spec != nil {
			if spec.Title != "" {
				f.Label = spec.Title
			}
			f.Help, f.Nullable = spec.Description, spec.AllowsNull()
		}
		switch kind := specKind(spec); {
		case kind == "enum":
			f.Kind = "enum"
			display, _ := spec.Extra["values_display"].(map[string]any)
			if !hasValue {
				f.Options = append(f.Options, paramOption{Value: "", Label: "(choose)", Selected: true})
			}
			for _, e := range spec.Enum {
				j := jsonText(e)
				label := fmt.Sprint(e)
				if e == nil {
					label = "None"
				}
				if l, ok := display[fmt.Sprint(e)].(string); ok {
					label = l
				}
				f.Options = append(f.Options, paramOption{Value: j, Label: label, Selected: hasValue && jsonText(v) == j})
			}
		case kind == "bool" || kind == "" && isBool(v):
			f.Kind, f.Checked = "bool", v == true
		case kind == "number" || kind == "integer" || kind == "" && isNumber(v):
			f.Kind, f.Step = "number", "any"
			if kind == "integer" {
				f.Step = "1"
			}
			if hasValue && v != nil {
				f.Value = fmt.Sprint(v)
			}
			if spec != nil && spec.Minimum != nil {
				f.Min = fmt.Sprint(*spec.Minimum)
			}
			if spec != nil && spec.Maximum != nil {
				f.Max = fmt.Sprint(*spec.Maximum)
			}
		case kind == "date" || kind == "string" || kind == "" && isString(v):
			f.Kind = "string"
			if kind == "date" {
				f.Kind = "date"
			}
			f.Value, _ = v.(string)
		default:
			f.Kind = "json"
			if hasValue {
				f.Value = jsonText(v)
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// specKind is the input a Param's schema calls for: "enum", "bool",
// "integer", "number", "date", "string", "json", or "" without a spec or
// a type (then the default's Go type decides).
func specKind(p *dags.ParamSpec) string {
	if p == nil {
		return ""
	}
	if p.Enum != nil {
		return "enum"
	}
	var types []string
	for _, t := range p.Types {
		if t != "null" {
			types = append(types, t)
		}
	}
	switch {
	case len(types) == 0:
		if len(p.Types) > 0 {
			return "json"
		}
		return ""
	case len(types) > 1:
		return "json"
	}
	switch types[0] {
	case "boolean":
		return "bool"
	case "integer", "number":
		return types[0]
	case "string":
		if p.Format == "date" {
			return "date"
		}
		return "string"
	}
	return "json"
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

func isString(v any) bool { _, ok := v.(string); return ok }

func isNumber(v any) bool {
	switch v.(type) {
	case int64, int, float64:
		return true
	}
	return false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
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
	return &triggerPage{DAG: dag, Params: paramFields(d.Params, d.ParamSpecs)}, nil
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
			h.audit(r, store.AuditEntry{Event: store.AuditTrigger, DagID: run.DagID, RunID: run.RunID, Extra: auditConf(conf)})
			http.Redirect(w, r, dagURL(p.DAG.DagID, "grid")+"?"+url.Values{"triggered": {run.RunID}, "run_id": {run.RunID}}.Encode(), http.StatusSeeOther)
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
		switch {
		case f.Nullable && strings.TrimSpace(raw) == "" && f.Kind != "bool":
			conf[f.Name] = nil
		case f.Kind == "bool":
			conf[f.Name] = f.Checked
		case f.Kind == "string" || f.Kind == "date":
			conf[f.Name] = raw
		case f.Kind == "enum":
			for i := range f.Options {
				f.Options[i].Selected = f.Options[i].Value == raw
			}
			if raw == "" {
				return nil, time.Time{}, errorf(http.StatusBadRequest, "param %s: choose a value", f.Name)
			}
			v, err := decodeJSON(raw)
			if err != nil {
				return nil, time.Time{}, errorf(http.StatusBadRequest, "param %s is not valid JSON: %v", f.Name, err)
			}
			conf[f.Name] = v
		case f.Kind == "number":
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
	return store.PlainNumbers(v), nil
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
