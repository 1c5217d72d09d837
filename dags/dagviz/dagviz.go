// Package dagviz draws a DAG: as Graphviz DOT, as a Mermaid flowchart, or
// as a text drawing for the terminal. Task states, when given, colour the
// nodes with Airflow's state colours.
package dagviz

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/starflow-dev/starflow/dags"
)

// StateColors are Airflow's UI colours for task states.
var StateColors = map[dags.TaskState]string{
	dags.TaskStateSuccess:         "#008000",
	dags.TaskStateFailed:          "#ff0000",
	dags.TaskStateUpstreamFailed:  "#ffa500",
	dags.TaskStateSkipped:         "#ff69b4",
	dags.TaskStateUpForRetry:      "#ffd700",
	dags.TaskStateRunning:         "#00ff00",
	dags.TaskStateQueued:          "#808080",
	dags.TaskStateScheduled:       "#d2b48c",
	dags.TaskStateRemoved:         "#d3d3d3",
	dags.TaskStateRestarting:      "#ee82ee",
	dags.TaskStateUpForReschedule: "#40e0d0",
	dags.TaskStateDeferred:        "#9370db",
}

// DOT writes d as a Graphviz digraph laid out left to right, with task
// groups as clusters and edge labels (Label("...")) on their edges.
func DOT(w io.Writer, d *dags.DAG, states map[string]dags.TaskState) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", quote(d.ID))
	b.WriteString("  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f0f0f0\", fontname=\"Helvetica\"];\n")
	groups := map[string][]*dags.Task{}
	for _, t := range d.Tasks() {
		groups[t.Group] = append(groups[t.Group], t)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		indent := "  "
		if g != "" {
			fmt.Fprintf(&b, "  subgraph %s {\n    label=%s;\n    style=dashed;\n", quote("cluster_"+g), quote(g))
			indent = "    "
		}
		for _, t := range groups[g] {
			attrs := fmt.Sprintf("label=%s, tooltip=%s", quote(label(t)), quote(t.Operator))
			if c, ok := StateColors[states[t.ID]]; ok {
				attrs += fmt.Sprintf(", fillcolor=%s", quote(c))
			}
			fmt.Fprintf(&b, "%s%s [%s];\n", indent, quote(t.ID), attrs)
		}
		if g != "" {
			b.WriteString("  }\n")
		}
	}
	for _, t := range d.Tasks() {
		for _, down := range t.Downstream {
			var attrs []string
			if l := d.EdgeLabel(t.ID, down); l != "" {
				attrs = append(attrs, "label="+quote(l))
			}
			if setupEdge(d, t, down) {
				attrs = append(attrs, "style=dashed")
			}
			if len(attrs) > 0 {
				fmt.Fprintf(&b, "  %s -> %s [%s];\n", quote(t.ID), quote(down), strings.Join(attrs, ", "))
				continue
			}
			fmt.Fprintf(&b, "  %s -> %s;\n", quote(t.ID), quote(down))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Mermaid writes d as a Mermaid flowchart (left to right), the format
// GitHub renders inside ```mermaid blocks, with edge labels.
func Mermaid(w io.Writer, d *dags.DAG, states map[string]dags.TaskState) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[string]string{}
	for i, t := range d.Tasks() {
		ids[t.ID] = fmt.Sprintf("t%d", i)
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[t.ID], mermaidText(label(t)))
	}
	for _, t := range d.Tasks() {
		for _, down := range t.Downstream {
			arrow := "-->"
			if setupEdge(d, t, down) {
				arrow = "-.->"
			}
			if l := d.EdgeLabel(t.ID, down); l != "" {
				fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", ids[t.ID], arrow, mermaidText(l), ids[down])
				continue
			}
			fmt.Fprintf(&b, "  %s %s %s\n", ids[t.ID], arrow, ids[down])
		}
	}
	used := map[dags.TaskState]bool{}
	for _, t := range d.Tasks() {
		if s, ok := states[t.ID]; ok {
			if _, colored := StateColors[s]; colored {
				used[s] = true
				fmt.Fprintf(&b, "  class %s %s\n", ids[t.ID], s)
			}
		}
	}
	for _, s := range dags.AllTaskStates {
		if used[s] {
			fmt.Fprintf(&b, "  classDef %s fill:%s\n", s, StateColors[s])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// label names a task in a drawing: its id without its group's prefix,
// " [ ]" after a mapped task, and an arrow up after a setup task and down
// after a teardown, as Airflow's graph marks them.
func label(t *dags.Task) string {
	id := t.ID
	if t.Group != "" && strings.HasPrefix(t.ID, t.Group+".") {
		id = strings.TrimPrefix(t.ID, t.Group+".")
	}
	if t.IsMapped() {
		id += " [ ]"
	}
	switch {
	case t.IsSetup:
		id += " \u2191"
	case t.IsTeardown:
		id += " \u2193"
	}
	return id
}

// setupEdge reports whether the edge from t to down joins a setup to its
// teardown, which Airflow's graph draws dashed.
func setupEdge(d *dags.DAG, t *dags.Task, down string) bool {
	dt := d.Task(down)
	return t.IsSetup && dt != nil && dt.IsTeardown
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
