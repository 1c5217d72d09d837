package dagviz

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/starflow-dev/starflow/dags"
)

// Text draws d for a terminal, one task per line in topological order, with
// a lane per pending edge as `git log --graph` does: ● is a task, │ an edge
// passing by, ├─╮ a task feeding several downstream tasks and ─╯ several
// upstream tasks joining into one. A task whose incoming edges carry
// labels lists them after it: `← check: "n > 10"`.
func Text(w io.Writer, d *dags.DAG, states map[string]dags.TaskState) error {
	var b strings.Builder
	var lanes []string // the task each lane leads to; "" is a free lane
	for _, t := range d.Tasks() {
		var cols []int
		for i, target := range lanes {
			if target == t.ID {
				cols = append(cols, i)
			}
		}
		if len(cols) == 0 {
			if b.Len() > 0 {
				// A new root: a gap line, so it does not look joined to the
				// task drawn just above it.
				b.WriteString(strings.TrimRight(laneLine(lanes), " ") + "\n")
			}
			col := slices.Index(lanes, "")
			if col < 0 {
				col = len(lanes)
				lanes = append(lanes, "")
			}
			lanes[col] = t.ID
			cols = []int{col}
		}
		col := cols[0]
		last := cols[len(cols)-1]
		// The node line: the task, with the lanes that join into it.
		for i := range lanes {
			switch {
			case i == col:
				b.WriteString("●")
			case slices.Contains(cols, i) && i == last:
				b.WriteString("╯")
			case slices.Contains(cols, i):
				b.WriteString("┴")
			case i > col && i < last:
				b.WriteString("─")
			case lanes[i] != "":
				b.WriteString("│")
			default:
				b.WriteString(" ")
			}
			if i < len(lanes)-1 {
				if i >= col && i < last {
					b.WriteString("─")
				} else {
					b.WriteString(" ")
				}
			}
		}
		fmt.Fprintf(&b, "  %s", t.ID)
		if t.IsMapped() {
			b.WriteString(" [ ]")
		}
		switch {
		case t.IsSetup:
			b.WriteString(" \u2191 setup")
		case t.IsTeardown:
			b.WriteString(" \u2193 teardown")
		}
		if t.Operator != "" {
			fmt.Fprintf(&b, " (%s)", t.Operator)
		}
		if s, ok := states[t.ID]; ok {
			fmt.Fprintf(&b, " [%s]", s)
		}
		// Labelled edges into the task: ` ← check: "n > 10"`.
		var labels []string
		for _, up := range t.Upstream {
			if l := d.EdgeLabel(up, t.ID); l != "" {
				labels = append(labels, fmt.Sprintf("%s: %q", up, l))
			}
		}
		if len(labels) > 0 {
			fmt.Fprintf(&b, " ← %s", strings.Join(labels, ", "))
		}
		b.WriteString("\n")
		for _, i := range cols {
			lanes[i] = ""
		}
		// The fork line: one lane per downstream task.
		if n := len(t.Downstream); n > 0 {
			lanes[col] = t.Downstream[0]
			var opened []int
			for _, down := range t.Downstream[1:] {
				i := col + 1
				for i < len(lanes) && lanes[i] != "" {
					i++
				}
				if i == len(lanes) {
					lanes = append(lanes, "")
				}
				lanes[i] = down
				opened = append(opened, i)
			}
			if len(opened) > 0 {
				far := opened[len(opened)-1]
				for i := range lanes {
					switch {
					case i == col:
						b.WriteString("├")
					case i == far:
						b.WriteString("╮")
					case slices.Contains(opened, i):
						b.WriteString("┬")
					case i > col && i < far:
						b.WriteString("─")
					case lanes[i] != "":
						b.WriteString("│")
					default:
						b.WriteString(" ")
					}
					if i < len(lanes)-1 {
						if i >= col && i < far {
							b.WriteString("─")
						} else {
							b.WriteString(" ")
						}
					}
				}
				b.WriteString("\n")
			}
		}
		for len(lanes) > 0 && lanes[len(lanes)-1] == "" {
			lanes = lanes[:len(lanes)-1]
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// laneLine draws the lanes still open, with no task on the line.
func laneLine(lanes []string) string {
	var b strings.Builder
	for i, target := range lanes {
		if target != "" {
			b.WriteString("│")
		} else {
			b.WriteString(" ")
		}
		if i < len(lanes)-1 {
			b.WriteString(" ")
		}
	}
	return b.String()
}
