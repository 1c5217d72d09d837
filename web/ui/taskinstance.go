package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/tasklog"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// Log reading limits: the page shows at most maxPageLog bytes of a try's
// log at first (the newest part when it is longer); a poll returns at most
// logChunk bytes.
const (
	maxPageLog = 4 << 20
	logChunk   = 256 << 10
)

// tiPage is a task instance: its state, tries, one try's log, its
// rendered templates and XComs, and the actions on it.
type tiPage struct {
	detailsPanel
	// Try is the try whose log is shown; Tries lists them all.
	Try   int
	Tries []int
	// Log is a message in place of the log (where a missing file is);
	// Lines is the log itself.
	Log   string
	Lines *logView
	// LogTruncated says the page starts the log past its beginning.
	LogTruncated bool
	// Poll is the URL that appends new log output while the try runs;
	// empty once it has finished.
	Poll     string
	Rendered []renderedField
	// MapArgs are a map index's values of the mapped arguments (not
	// templated, as in Airflow).
	MapArgs []renderedField
	XComs   []*store.XCom
}

func (p *tiPage) title() string { return p.Label() + " · " + p.Run.RunID }

// renderedField is one templated field of the task, rendered for the run.
type renderedField struct {
	Name     string
	Template string
	Rendered string
	Error    string
}

func (h *handler) taskInstance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dagID, runID, taskID := r.PathValue("dag"), r.PathValue("run"), r.PathValue("task")
	mapIndex, err := mapIndexParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.loadDetails(ctx, dagID, runID, taskID, mapIndex)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Return = mapTIURL(dagID, runID, taskID, mapIndex)
	p := &tiPage{detailsPanel: *d}
	if d.TI == nil {
		// A mapped task's summary: its map indexes, each linked.
		h.render(w, r, http.StatusOK, "ti", p)
		return
	}
	for i := 1; i <= d.TI.TryNumber; i++ {
		p.Tries = append(p.Tries, i)
	}
	p.Try = d.TI.TryNumber
	if v := r.URL.Query().Get("try"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max(d.TI.TryNumber, 1) {
			h.fail(w, r, errorf(http.StatusBadRequest, "try must be a number from 1 to %d, not %q", max(d.TI.TryNumber, 1), v))
			return
		}
		p.Try = n
	}
	if p.Try > 0 {
		if err := h.loadLog(ctx, p); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if p.XComs, err = h.Store.XComList(ctx, &store.XComListParams{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: &mapIndex}); err != nil {
		h.fail(w, r, fmt.Errorf("list XComs: %w", err))
		return
	}
	p.Rendered, p.MapArgs = h.renderFields(ctx, d)
	h.render(w, r, http.StatusOK, "ti", p)
}

// TryURL is the page of one try of the shown task instance.
func (p *tiPage) TryURL(try int) string {
	q := url.Values{"try": {strconv.Itoa(try)}}
	if p.MapIndex >= 0 {
		q.Set("map_index", strconv.Itoa(p.MapIndex))
	}
	return "?" + q.Encode()
}

// tryLive reports whether try of ti may still write to its log.
func tryLive(ti *store.TaskInstance, try int) bool {
	if try < ti.TryNumber {
		return false
	}
	switch ti.State {
	case dags.TaskStateRunning, dags.TaskStateQueued, dags.TaskStateScheduled, dags.TaskStateRestarting, dags.TaskStateNone:
		return true
	}
	return false
}

// loadLog reads the shown try's log: everything up to maxPageLog, or its
// last maxPageLog bytes, and sets the poll URL while the try runs.
func (h *handler) loadLog(ctx context.Context, p *tiPage) error {
	live := tryLive(p.TI, p.Try)
	key := p.TI.TaskInstanceKey
	data, next, err := h.readLog(ctx, key, p.Try, 0, maxPageLog)
	if errors.Is(err, tasklog.ErrMissing) {
		p.Log = err.Error() // say where the log is, rather than fail the page
		return nil
	}
	if err != nil {
		return err
	}
	if len(data) >= maxPageLog {
		// Long log: show its tail. Read up to the end to learn its size.
		var size int64
		for {
			chunk, err := h.Logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: p.Try, Offset: next})
			if err != nil {
				return fmt.Errorf("read log of %s try %d: %w", key, p.Try, err)
			}
			if len(chunk.Data) == 0 {
				size = chunk.NextOffset
				break
			}
			next = chunk.NextOffset
		}
		from := max(size-maxPageLog, 0)
		if data, next, err = h.readLog(ctx, key, p.Try, from, maxPageLog); err != nil {
			return err
		}
		p.LogTruncated = from > 0
	}
	if live {
		whole := wholeLines(data)
		next -= int64(len(data) - len(whole))
		data = whole
	}
	p.Lines = splitLog(string(data), 1)
	if live {
		p.Poll = logPollURL(key, p.Try, next, len(p.Lines.Lines)+1)
	}
	return nil
}

// DownloadURL is the whole log of the shown try as a file.
func (p *tiPage) DownloadURL() string {
	q := url.Values{"try": {strconv.Itoa(p.Try)}}
	if p.MapIndex >= 0 {
		q.Set("map_index", strconv.Itoa(p.MapIndex))
	}
	return tiURL(p.DAG.DagID, p.Run.RunID, p.TaskID) + "/_log/download?" + q.Encode()
}

// taskLogDownload sends one try's whole log as a text file, read from
// the log folder chunk by chunk.
func (h *handler) taskLogDownload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mapIndex, err := mapIndexParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	key := store.TaskInstanceKey{DagID: r.PathValue("dag"), RunID: r.PathValue("run"), TaskID: r.PathValue("task"), MapIndex: mapIndex}
	try, err := strconv.Atoi(r.URL.Query().Get("try"))
	if err != nil || try < 1 {
		h.fail(w, r, errorf(http.StatusBadRequest, "try must be a number from 1, not %q", r.URL.Query().Get("try")))
		return
	}
	ti, err := h.Store.TaskInstanceGet(ctx, key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if try > ti.TryNumber {
		h.fail(w, r, errorf(http.StatusNotFound, "task instance %s has made %d tries: no log of try %d", key, ti.TryNumber, try))
		return
	}
	// The first chunk is read before the headers go, so a missing log is
	// still an error page.
	first, err := h.Logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: try})
	if err != nil {
		h.fail(w, r, fmt.Errorf("read log of %s try %d: %w", key, try, err))
		return
	}
	name := fmt.Sprintf("%s__%s__%s", key.DagID, key.RunID, key.TaskID)
	if key.MapIndex >= 0 {
		name += "__" + strconv.Itoa(key.MapIndex)
	}
	name = strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c == ':' || c == '"' || c == '+' || c < ' ' {
			return '_'
		}
		return c
	}, name) + "__attempt=" + strconv.Itoa(try) + ".log"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	chunk := first
	for len(chunk.Data) > 0 {
		if _, err := w.Write(chunk.Data); err != nil {
			return
		}
		if chunk, err = h.Logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: try, Offset: chunk.NextOffset}); err != nil {
			h.Logger.Warn("ui: log download cut short", "task_instance", key.String(), "try", try, "err", err)
			return
		}
	}
}

// readLog reads from offset up to limit bytes, ending on a whole UTF-8
// character, and returns the data and the offset after it.
func (h *handler) readLog(ctx context.Context, key store.TaskInstanceKey, try int, offset int64, limit int) ([]byte, int64, error) {
	var out []byte
	for len(out) < limit {
		chunk, err := h.Logs.Read(ctx, &store.TaskLogReadParams{Key: key, TryNumber: try, Offset: offset, Limit: min(limit-len(out), store.MaxLogChunkBytes)})
		if errors.Is(err, store.ErrNotFound) && !errors.Is(err, tasklog.ErrMissing) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read log of %s try %d: %w", key, try, err)
		}
		if len(chunk.Data) == 0 {
			break
		}
		out = append(out, chunk.Data...)
		offset = chunk.NextOffset
	}
	// Leave a character cut at the end for the next read.
	if n := len(out); n > 0 {
		start := n - 1
		for start > 0 && n-start < utf8.UTFMax && !utf8.RuneStart(out[start]) {
			start--
		}
		if !utf8.FullRune(out[start:]) {
			offset -= int64(n - start)
			out = out[:start]
		}
	}
	return out, offset, nil
}

func logPollURL(key store.TaskInstanceKey, try int, offset int64, line int) string {
	u := tiURL(key.DagID, key.RunID, key.TaskID) + "/_log?try=" + strconv.Itoa(try) + "&offset=" + strconv.FormatInt(offset, 10) + "&line=" + strconv.Itoa(line)
	if key.MapIndex >= 0 {
		u += "&map_index=" + strconv.Itoa(key.MapIndex)
	}
	return u
}

// logChunkView is a poll's answer: the new output, and the poller to put
// in place of the old one (without a trigger once the try has finished).
type logChunkView struct {
	Lines *logView
	// Poll is the next poll's URL; empty when the try has finished.
	Poll string
}

// taskLog answers the log poller: what the try wrote since offset. The
// task instance is read before the log, so a finished try's last lines
// are always in the last answer.
func (h *handler) taskLog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	mapIndex, err := mapIndexParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	key := store.TaskInstanceKey{DagID: r.PathValue("dag"), RunID: r.PathValue("run"), TaskID: r.PathValue("task"), MapIndex: mapIndex}
	q := r.URL.Query()
	try, err1 := strconv.Atoi(q.Get("try"))
	offset, err2 := strconv.ParseInt(q.Get("offset"), 10, 64)
	line := 1
	var err3 error
	if v := q.Get("line"); v != "" {
		line, err3 = strconv.Atoi(v)
	}
	if err1 != nil || err2 != nil || err3 != nil || try < 1 || offset < 0 || line < 1 {
		h.fail(w, r, errorf(http.StatusBadRequest, "try, offset and line must be numbers (try and line from 1, offset from 0)"))
		return
	}
	ti, err := h.Store.TaskInstanceGet(ctx, key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data, next, err := h.readLog(ctx, key, try, offset, logChunk)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	more := tryLive(ti, try) || len(data) >= logChunk
	if more {
		whole := wholeLines(data)
		next -= int64(len(data) - len(whole))
		data = whole
	}
	v := &logChunkView{Lines: splitLog(string(data), line)}
	if more {
		v.Poll = logPollURL(key, try, next, line+len(v.Lines.Lines))
	} else if r.Header.Get("HX-Request") != "" {
		// The try has finished: reload the page for its final state.
		w.Header().Set("HX-Refresh", "true")
	}
	h.fragment(w, r, "ti", "log-chunk", v)
}

// renderFields renders the task's templated fields (its string
// configuration values, and the string values of its maps such as env)
// with the run's template context, as the worker would. A field that fails
// to render shows its template and the error. Secret variables never
// appear: their values are masked. For a map index of a mapped task it
// also returns the values of the mapped arguments.
func (h *handler) renderFields(ctx context.Context, d *detailsPanel) (fields, mapArgs []renderedField) {
	if d.Task == nil {
		return nil, nil
	}
	dag, err := h.DAGs.DAG(ctx, d.DAG.DagID, d.Run.SourceHash)
	if err != nil {
		return []renderedField{{Name: "(all)", Error: err.Error()}}, nil
	}
	masker := secrets.NewMasker()
	params := map[string]any{}
	for _, m := range []map[string]any{dag.Params, d.Task.Params, d.Run.Conf} {
		for k, v := range m {
			params[k] = v
		}
	}
	call := &operators.Call{
		DAG:  dag,
		Task: d.Task,
		Run: operators.RunInfo{DAGID: d.Run.DagID, RunID: d.Run.RunID, RunType: d.Run.RunType, LogicalDate: d.Run.LogicalDate,
			DataIntervalStart: d.Run.DataIntervalStart, DataIntervalEnd: d.Run.DataIntervalEnd, Conf: d.Run.Conf},
		MapIndex:  d.TI.MapIndex,
		TryNumber: max(d.TI.TryNumber, 1),
		Params:    params,
		XCom:      readOnlyXCom{st: h.Store, key: d.TI.TaskInstanceKey, dag: dag},
		Variables: maskedVariables{st: h.Store, masker: masker},
	}
	renderer := templates.NewRenderer(call)
	var out []renderedField
	add := func(name, tmpl string) {
		f := renderedField{Name: name, Template: tmpl}
		got, err := renderer.Render(ctx, tmpl)
		if err != nil {
			f.Error = err.Error()
		} else {
			f.Rendered = masker.Mask(got)
		}
		out = append(out, f)
	}
	keys := make([]string, 0, len(d.Task.Config))
	for k := range d.Task.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := d.Task.Config[k].(type) {
		case string:
			add(k, v)
		case map[string]any:
			sub := make([]string, 0, len(v))
			for sk := range v {
				sub = append(sub, sk)
			}
			sort.Strings(sub)
			for _, sk := range sub {
				if s, ok := v[sk].(string); ok {
					add(k+"."+sk, s)
				}
			}
		}
	}
	return out, mappedArgs(ctx, call, masker)
}

// mappedArgs returns the values a map index of a mapped task runs with,
// masked, by name.
func mappedArgs(ctx context.Context, call *operators.Call, masker *secrets.Masker) []renderedField {
	if !call.Task.IsMapped() || call.MapIndex < 0 {
		return nil
	}
	vals, err := dags.MapValues(call.Task, call.MapIndex, func(ref dags.XComRef) (any, error) {
		key := ref.Key
		if key == "" {
			key = store.ReturnValueKey
		}
		v, ok, err := call.XCom.Pull(ctx, ref.TaskID, key)
		if err == nil && !ok {
			err = fmt.Errorf("task %s pushed no XCom %q to map over", ref.TaskID, key)
		}
		return v, err
	})
	if err != nil {
		return []renderedField{{Name: "(mapped)", Error: err.Error()}}
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]renderedField, 0, len(names))
	for _, k := range names {
		text, ok := vals[k].(string)
		if !ok {
			text = prettyJSON(vals[k])
		}
		out = append(out, renderedField{Name: k, Rendered: masker.Mask(text)})
	}
	return out
}

// readOnlyXCom lets templates pull XComs of the run, a mapped task's as
// the list of its map indexes' values (as the worker does); pushing is
// refused.
type readOnlyXCom struct {
	st  store.Store
	key store.TaskInstanceKey
	dag *dags.DAG
}

func (x readOnlyXCom) Pull(ctx context.Context, taskID, key string) (any, bool, error) {
	t := x.dag.Task(taskID)
	return store.PullXCom(ctx, x.st, x.key.DagID, x.key.RunID, taskID, key, t != nil && t.IsMapped())
}

func (x readOnlyXCom) Push(context.Context, string, any) error {
	return errors.New("templates rendered for display cannot push XComs")
}

// maskedVariables reads variables from the store and adds the values of
// secret ones to the masker.
type maskedVariables struct {
	st     store.Store
	masker *secrets.Masker
}

func (v maskedVariables) Get(ctx context.Context, name string) (string, bool, error) {
	got, err := v.st.VariableGet(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("variable %q: %w", name, err)
	}
	if got.Secret {
		v.masker.Add(got.Value)
	}
	return got.Value, true, nil
}

// xcomText formats an XCom value for display.
func xcomText(x *store.XCom) string {
	if x.ValueError != "" {
		return "(corrupt: " + x.ValueError + ")"
	}
	if s, ok := x.Value.(string); ok {
		return s
	}
	return prettyJSON(x.Value)
}
