package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/localrun"
)

// runPrinter shows a run's progress as it happens, one line per state
// change, then a summary table. Colours are used only on a terminal.
type runPrinter struct {
	mu     sync.Mutex
	w      io.Writer
	color  bool
	start  time.Time
	idSize int
	// dagID is the DAG of the run; tasks of runs it triggers are shown as
	// "<dag_id>/<task_id>".
	dagID string
}

func newRunPrinter(w io.Writer, d *dags.DAG) *runPrinter {
	size := 8
	for _, t := range d.Tasks() {
		size = max(size, len(t.ID))
	}
	return &runPrinter{w: w, color: os.Getenv("NO_COLOR") == "" && isTerminal(w), start: time.Now(), idSize: min(size, 48), dagID: d.ID}
}

// isTerminal reports whether v is a file open on a terminal. A character
// device is not enough: /dev/null is one, and a job started with it as
// stdin must not be asked questions it cannot answer.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stateColors follows Airflow's UI colours as closely as 16 colours allow.
var stateColors = map[dags.TaskState]string{
	dags.TaskStateSuccess:         "\x1b[32m", // green
	dags.TaskStateFailed:          "\x1b[31m", // red
	dags.TaskStateUpstreamFailed:  "\x1b[33m", // orange
	dags.TaskStateSkipped:         "\x1b[35m", // pink
	dags.TaskStateUpForRetry:      "\x1b[93m", // gold
	dags.TaskStateUpForReschedule: "\x1b[36m", // turquoise
	dags.TaskStateRunning:         "\x1b[92m", // lime
	dags.TaskStateScheduled:       "\x1b[90m", // tan
	dags.TaskStateQueued:          "\x1b[90m", // grey
}

func (p *runPrinter) paint(s dags.TaskState) string {
	name := string(s)
	if !p.color {
		return name
	}
	if c, ok := stateColors[s]; ok {
		return c + name + "\x1b[0m"
	}
	return name
}

// event prints one state change; scheduled changes are left out as noise.
func (p *runPrinter) event(e localrun.Event) {
	if e.To == dags.TaskStateScheduled {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := e.Time.Sub(p.start).Seconds()
	if e.Expanded > 0 {
		fmt.Fprintf(p.w, "%8.3fs  %-*s  expanded into %d task instances\n", elapsed, p.idSize, e.TaskID, e.Expanded)
		return
	}
	detail := ""
	switch e.To {
	case dags.TaskStateRunning:
		detail = fmt.Sprintf("try %d", e.TryNumber)
		if e.Reschedules > 0 {
			detail += fmt.Sprintf(" (after %d reschedules)", e.Reschedules)
		}
	case dags.TaskStateUpForReschedule:
		detail = fmt.Sprintf("try %d runs again in %s", e.TryNumber, roundDuration(max(0, e.RescheduleAt.Sub(e.Time))))
	case dags.TaskStateUpForRetry, dags.TaskStateFailed:
		if e.Err != nil {
			detail = oneLine(e.Err.Error())
		}
	}
	label := instanceName(e.TaskID, e.MapIndex)
	if e.DAGID != "" && e.DAGID != p.dagID {
		label = e.DAGID + "/" + label
	}
	fmt.Fprintf(p.w, "%8.3fs  %-*s  %s", elapsed, p.idSize, label, p.paint(e.To))
	if detail != "" {
		fmt.Fprintf(p.w, "  %s", detail)
	}
	fmt.Fprintln(p.w)
}

// summary prints the table of final task states and the run's verdict.
func (p *runPrinter) summary(res *localrun.Result, logDir string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w)
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSTATE\tTRIES\tDURATION")
	for _, t := range res.Tasks {
		dur := "-"
		if t.TryNumber > 0 {
			dur = roundDuration(t.Duration).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", instanceName(t.TaskID, t.MapIndex), t.State, t.TryNumber, dur)
	}
	_ = tw.Flush()
	counts := map[dags.TaskState]int{}
	for _, t := range res.Tasks {
		counts[t.State]++
	}
	var parts []string
	for _, s := range dags.AllTaskStates {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	for _, e := range res.DatasetEvents {
		fmt.Fprintf(p.w, "dataset updated: %s (by %s)\n", e.URI, e.TaskID)
	}
	fmt.Fprintf(p.w, "\nrun %s of %s: %s in %s (%s)\n", res.RunID, res.DAGID,
		p.paintRun(res.State), roundDuration(res.End.Sub(res.Start)), strings.Join(parts, ", "))
	if logDir != "" {
		fmt.Fprintf(p.w, "task logs: %s\n", logDir)
	}
}

// childSummary prints one line for a run that a task triggered.
func (p *runPrinter) childSummary(res *localrun.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\ntriggered run %s of %s: %s in %s\n", res.RunID, res.DAGID, p.paintRun(res.State), roundDuration(res.End.Sub(res.Start)))
	for _, e := range res.DatasetEvents {
		fmt.Fprintf(p.w, "dataset updated: %s (by %s/%s)\n", e.URI, res.DAGID, e.TaskID)
	}
}

func (p *runPrinter) paintRun(s dags.DagRunState) string {
	if s == dags.DagRunStateSuccess {
		return p.paint(dags.TaskStateSuccess)
	}
	if s == dags.DagRunStateFailed {
		return p.paint(dags.TaskStateFailed)
	}
	return string(s)
}

// roundDuration keeps two or three significant digits: 412µs, 6.3ms, 1.204s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// instanceName names a task instance: its task id, with "[i]" for map
// index i of a mapped task.
func instanceName(taskID string, mapIndex int) string {
	if mapIndex < 0 {
		return taskID
	}
	return fmt.Sprintf("%s[%d]", taskID, mapIndex)
}

// failedLogs prints the last n lines of each failed task's log, so that
// why a task failed shows without opening its log file.
func (p *runPrinter) failedLogs(res *localrun.Result, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range res.Tasks {
		if t.State != dags.TaskStateFailed || t.LogPath == "" {
			continue
		}
		lines := lastLines(t.LogPath, n)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(p.w, "\n%s failed; the last %d lines of its log (%s):\n", instanceName(t.TaskID, t.MapIndex), len(lines), t.LogPath)
		for _, l := range lines {
			fmt.Fprintln(p.w, "  | "+l)
		}
	}
}

// lastLines returns the last n lines of a file (at most its last 64 KiB).
func lastLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const tail = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		if _, err := f.Seek(fi.Size()-tail, io.SeekStart); err != nil {
			return nil
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	return lines
}
