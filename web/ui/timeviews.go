package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/dags/dagviz"
	"github.com/starflow-dev/starflow/runtime/store"
)

// The time views of a DAG: the Gantt chart of one run, the task and run
// durations and landing times over its last runs, and the calendar of its
// daily run states. Charts are drawn by Chart.js (static/timeviews.js)
// from JSON inlined in the page; every chart has a table of the same
// figures beside it.

// timeRoutes adds the time views' routes.
func (h *handler) timeRoutes() {
	h.mux.HandleFunc("GET /dags/{dag}/gantt", h.gantt)
	h.mux.HandleFunc("GET /dags/{dag}/durations", h.durations)
	h.mux.HandleFunc("GET /dags/{dag}/calendar", h.calendar)
}

// ganttPage is the Gantt chart of one run.
type ganttPage struct {
	DAG  *store.DAG
	Runs []*store.DagRun
	Run  *store.DagRun
	// Bars are the run's task instances that were queued or started, in
	// start order.
	Bars  []ganttBar
	Chart ganttChart
	// Height is the chart's height in pixels: a row per bar.
	Height int
}

func (p *ganttPage) title() string { return p.DAG.DagID + " · Gantt" }

// ganttBar is one task instance's current try: when it was queued, started
// and ended (zero when it has not yet).
type ganttBar struct {
	Label    string         `json:"label"`
	TaskID   string         `json:"task_id"`
	MapIndex int            `json:"map_index"`
	State    dags.TaskState `json:"state"`
	Try      int            `json:"try"`
	URL      string         `json:"url"`
	// Queued, Start and End are milliseconds since the Unix epoch; 0 when
	// unknown.
	Queued int64 `json:"queued"`
	Start  int64 `json:"start"`
	End    int64 `json:"end"`

	QueuedAt, StartDate, EndDate time.Time     `json:"-"`
	Duration                     time.Duration `json:"-"`
}

// ganttChart is the JSON the Gantt chart is drawn from.
type ganttChart struct {
	Bars   []ganttBar        `json:"bars"`
	Colors map[string]string `json:"colors"`
	// Now is the server's time in ms, the end of bars still running.
	Now int64 `json:"now"`
}

// ganttRuns is how many runs the Gantt page's run menu offers.
const ganttRuns = 50

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// stateColors are the state colours keyed by state name, for charts.
func stateColors() map[string]string {
	out := make(map[string]string, len(dagviz.StateColors))
	for s, c := range dagviz.StateColors {
		out[string(s)] = c
	}
	return out
}

func (h *handler) gantt(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &ganttPage{DAG: dag}
	if p.Runs, err = h.Store.RunList(ctx, &store.RunListParams{DagID: dagID, Limit: ganttRuns}); err != nil {
		h.fail(w, r, fmt.Errorf("list runs of %s: %w", dagID, err))
		return
	}
	if runID := r.URL.Query().Get("run_id"); runID != "" {
		if p.Run, err = h.Store.RunGet(ctx, dagID, runID); err != nil {
			h.fail(w, r, err)
			return
		}
	} else if len(p.Runs) > 0 {
		p.Run = p.Runs[0]
	}
	if p.Run != nil {
		tis, err := h.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: p.Run.RunID})
		if err != nil {
			h.fail(w, r, fmt.Errorf("list task instances of %s/%s: %w", dagID, p.Run.RunID, err))
			return
		}
		p.Bars = ganttBars(dagID, p.Run.RunID, tis)
	}
	p.Height = 70 + 26*len(p.Bars)
	p.Chart = ganttChart{Bars: p.Bars, Colors: stateColors(), Now: ms(h.Now())}
	if p.Chart.Bars == nil {
		p.Chart.Bars = []ganttBar{}
	}
	h.render(w, r, http.StatusOK, "gantt", p)
}

// ganttBars turns the task instances that were queued or started into
// bars, ordered by start (queue time for those not started), then id.
func ganttBars(dagID, runID string, tis []*store.TaskInstance) []ganttBar {
	var bars []ganttBar
	for _, ti := range tis {
		if ti.QueuedAt.IsZero() && ti.StartDate.IsZero() {
			continue
		}
		label := ti.TaskID
		u := tiURL(dagID, runID, ti.TaskID)
		if ti.MapIndex >= 0 {
			label += "[" + strconv.Itoa(ti.MapIndex) + "]"
			u += "?map_index=" + strconv.Itoa(ti.MapIndex)
		}
		bars = append(bars, ganttBar{
			Label: label, TaskID: ti.TaskID, MapIndex: ti.MapIndex, State: ti.State, Try: ti.TryNumber, URL: u,
			Queued: ms(ti.QueuedAt), Start: ms(ti.StartDate), End: ms(ti.EndDate),
			QueuedAt: ti.QueuedAt, StartDate: ti.StartDate, EndDate: ti.EndDate, Duration: ti.Duration,
		})
	}
	first := func(b ganttBar) int64 {
		if b.Start != 0 {
			return b.Start
		}
		return b.Queued
	}
	slices.SortStableFunc(bars, func(a, b ganttBar) int {
		if d := first(a) - first(b); d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
		if a.TaskID != b.TaskID {
			if a.TaskID < b.TaskID {
				return -1
			}
			return 1
		}
		return a.MapIndex - b.MapIndex
	})
	return bars
}

// durationsPage shows task durations, run durations and landing times
// over a DAG's last runs.
type durationsPage struct {
	DAG        *store.DAG
	NumRuns    int
	RunChoices []int
	// Chart is durationsChart encoded once in Go (compact JSON, safe
	// inside a script element): with hundreds of runs, the template's
	// escaper walking the figures one by one was most of the page's time.
	Chart template.JS
	// Rows are the runs, oldest first, for the table under the charts,
	// their cells formatted in Go for the same reason.
	Rows []durationsRow
}

func (p *durationsPage) title() string { return p.DAG.DagID + " · Durations" }

// durationsChart is the JSON the duration charts are drawn from, by
// column: runs[i] is the i-th run, oldest first, and each task's
// figures are in the runs' order. Figures are seconds, to the
// millisecond; null where a run has no finished instance of the task.
type durationsChart struct {
	Runs   durationsRuns     `json:"runs"`
	Tasks  []durationsTask   `json:"tasks"`
	Colors map[string]string `json:"colors"`
}

// durationsRuns are the runs' columns.
type durationsRuns struct {
	RunIDs []string           `json:"run_id"`
	Labels []string           `json:"label"`
	States []dags.DagRunState `json:"state"`
	// Duration is a run's end minus its start; Landing its end minus its
	// data interval's end (Airflow's landing time).
	Duration []*float64 `json:"duration"`
	Landing  []*float64 `json:"landing"`
}

type durationsTask struct {
	TaskID    string     `json:"task_id"`
	Durations []*float64 `json:"durations"`
	Landing   []*float64 `json:"landing"`
}

// durationsRow is one run in the table under the charts.
type durationsRow struct {
	RunID, LogicalDate string
	State              dags.DagRunState
	StateClass         string
	Duration, Landing  string
}

// seconds is d in seconds, rounded to the millisecond.
func seconds(d time.Duration) *float64 {
	s := float64(d.Round(time.Millisecond)) / float64(time.Second)
	return &s
}

func (h *handler) durations(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	n, err := runCountParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	runs, err := h.Store.RunList(ctx, &store.RunListParams{DagID: dagID, Limit: n})
	if err != nil {
		h.fail(w, r, fmt.Errorf("list runs of %s: %w", dagID, err))
		return
	}
	slices.Reverse(runs) // oldest first, left to right
	p := &durationsPage{DAG: dag, NumRuns: n, RunChoices: runChoices(n)}
	if p.Chart, p.Rows, err = h.loadDurations(ctx, dagID, runs); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "durations", p)
}

// loadDurations reads each task's first start and last end in each run
// (one grouped query for every run) and computes the charts' figures,
// encoded as JSON, and the table's rows.
func (h *handler) loadDurations(ctx context.Context, dagID string, runs []*store.DagRun) (template.JS, []durationsRow, error) {
	n := len(runs)
	c := durationsChart{Tasks: []durationsTask{}, Colors: stateColors(), Runs: durationsRuns{
		RunIDs: make([]string, n), Labels: make([]string, n), States: make([]dags.DagRunState, n),
		Duration: make([]*float64, n), Landing: make([]*float64, n)}}
	rows := make([]durationsRow, n)
	col := make(map[string]int, n)
	for i, run := range runs {
		col[run.RunID] = i
		c.Runs.RunIDs[i], c.Runs.Labels[i], c.Runs.States[i] = run.RunID, run.LogicalDate.UTC().Format("2006-01-02 15:04"), run.State
		var dur, landing time.Duration
		if !run.StartDate.IsZero() && !run.EndDate.IsZero() {
			dur = run.EndDate.Sub(run.StartDate)
			c.Runs.Duration[i] = seconds(dur)
		}
		if !run.EndDate.IsZero() && !run.DataIntervalEnd.IsZero() {
			landing = run.EndDate.Sub(run.DataIntervalEnd)
			c.Runs.Landing[i] = seconds(landing)
		}
		rows[i] = durationsRow{RunID: run.RunID, LogicalDate: fmtTime(run.LogicalDate), State: run.State, StateClass: stateClass(run.State),
			Duration: fmtDur(dur), Landing: fmtDur(landing)}
	}
	// A mapped task's span covers its map indexes: first start to last
	// end.
	spans, err := h.Store.TaskSpans(ctx, &store.TaskSpansParams{DagID: dagID, RunIDs: c.Runs.RunIDs})
	if err != nil {
		return "", nil, fmt.Errorf("task durations of %s: %w", dagID, err)
	}
	index := map[string]int{}
	for _, s := range spans {
		i, ok := col[s.RunID]
		if !ok {
			continue
		}
		j, ok := index[s.TaskID]
		if !ok {
			j = len(c.Tasks)
			index[s.TaskID] = j
			c.Tasks = append(c.Tasks, durationsTask{TaskID: s.TaskID, Durations: make([]*float64, n), Landing: make([]*float64, n)})
		}
		c.Tasks[j].Durations[i] = seconds(s.End.Sub(s.Start))
		if end := runs[i].DataIntervalEnd; !end.IsZero() {
			c.Tasks[j].Landing[i] = seconds(s.End.Sub(end))
		}
	}
	slices.SortStableFunc(c.Tasks, func(a, b durationsTask) int { return strings.Compare(a.TaskID, b.TaskID) })
	// json.Marshal escapes <, > and & (and U+2028, U+2029): the text
	// cannot end the script element it is inlined in.
	b, err := json.Marshal(c)
	if err != nil {
		return "", nil, fmt.Errorf("durations chart of %s: %w", dagID, err)
	}
	return template.JS(b), rows, nil
}

// calendarPage is a year of daily run states, as Airflow's calendar view.
type calendarPage struct {
	DAG *store.DAG
	// Days are seven rows (Monday first) of one day per week column;
	// days outside the year shown are blank.
	Days [7][]calendarDay
	// Heads label the week columns a month starts in ("" elsewhere).
	Heads []string
	// Truncated is set when the year holds more runs than the page reads.
	Truncated bool
	Total     int
}

func (p *calendarPage) title() string { return p.DAG.DagID + " · Calendar" }

// calendarDay is one day: its runs' states counted.
type calendarDay struct {
	Date  time.Time
	Blank bool
	// State is the day's colour: failed if any run failed, running if any
	// is queued or running, success if every run succeeded; empty without
	// runs.
	State  string
	Counts []dayCount
}

type dayCount struct {
	State string
	N     int
}

// Label describes the day for its tooltip and screen readers.
func (d calendarDay) Label() string {
	s := d.Date.Format("Mon 2 Jan 2006") + ": "
	if len(d.Counts) == 0 {
		return s + "no runs"
	}
	for i, c := range d.Counts {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(c.N) + " " + c.State
	}
	return s
}

// calendarMaxRuns bounds the runs the calendar reads (an hourly DAG has
// 8,760 a year).
const calendarMaxRuns = 20000

func (h *handler) calendar(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	today := h.Now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(-1, 0, 1)
	runs, err := h.Store.RunDates(ctx, &store.RunDatesParams{DagID: dagID, From: from, To: today.AddDate(0, 0, 1), Limit: calendarMaxRuns})
	if err != nil {
		h.fail(w, r, fmt.Errorf("list runs of %s: %w", dagID, err))
		return
	}
	p := calendarDays(from, today, runs)
	p.DAG = dag
	p.Truncated = len(runs) == calendarMaxRuns
	h.render(w, r, http.StatusOK, "calendar", p)
}

// calendarDays lays the runs out in week columns from from to today
// (both UTC midnights).
func calendarDays(from, today time.Time, runs []store.RunDate) *calendarPage {
	counts := map[string]map[string]int{}
	for _, run := range runs {
		day := run.LogicalDate.UTC().Format(time.DateOnly)
		if counts[day] == nil {
			counts[day] = map[string]int{}
		}
		counts[day][string(run.State)]++
	}
	p := &calendarPage{Total: len(runs)}
	// Start on the Monday on or before from.
	start := from.AddDate(0, 0, -((int(from.Weekday()) + 6) % 7))
	lastMonth := -1
	for d := start; !d.After(today); d = d.AddDate(0, 0, 7) {
		var week [7]calendarDay
		head := ""
		for i := range 7 {
			day := d.AddDate(0, 0, i)
			week[i] = calendarDay{Date: day, Blank: day.Before(from) || day.After(today)}
			if week[i].Blank {
				continue
			}
			if m := int(day.Month()); m != lastMonth {
				lastMonth = m
				head = day.Format("Jan")
			}
			c := counts[day.Format(time.DateOnly)]
			for _, s := range []string{"failed", "running", "queued", "success"} {
				if c[s] > 0 {
					week[i].Counts = append(week[i].Counts, dayCount{State: s, N: c[s]})
					if week[i].State == "" {
						week[i].State = s
					}
				}
			}
			if week[i].State == "queued" {
				week[i].State = "running"
			}
		}
		for i := range 7 {
			p.Days[i] = append(p.Days[i], week[i])
		}
		p.Heads = append(p.Heads, head)
	}
	return p
}
