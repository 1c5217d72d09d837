package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// graphRuns is how many recent runs the graph's run selector offers.
const graphRuns = 25

// graphPage is a DAG drawn left to right by graph.js (dagre lays it out),
// nodes coloured with the states of the chosen run.
type graphPage struct {
	DAG  *store.DAG
	Runs []*store.DagRun
	// Run is the chosen run; nil when the DAG has none.
	Run   *store.DagRun
	Graph *graphData
}

func (p *graphPage) title() string { return p.DAG.DagID + " · Graph" }

// graphData is what graph.js draws.
type graphData struct {
	Nodes []graphNode `json:"nodes"`
	Edges [][2]string `json:"edges"`
	// EdgeLabels are the labels of labelled edges (Label("...")):
	// [from, to, label] each.
	EdgeLabels [][3]string `json:"edge_labels,omitempty"`
	// TaskURL is the task instance page's URL with "{task}" to replace;
	// empty without a run.
	TaskURL   string `json:"task_url"`
	StatesURL string `json:"states_url"`
	Live      bool   `json:"live"`
}

// graphNode is one task.
type graphNode struct {
	ID string `json:"id"`
	// Name is the task's task_display_name, drawn instead of the id; ""
	// when it has none.
	Name     string         `json:"name,omitempty"`
	Operator string         `json:"operator"`
	Group    string         `json:"group,omitempty"`
	State    dags.TaskState `json:"state"`
	// Mapped is set for a mapped task; MapCount is its number of map
	// indexes once expanded (the label then reads "id [n]") and Title
	// their states.
	Mapped   bool   `json:"mapped,omitempty"`
	MapCount int    `json:"map_count,omitempty"`
	Title    string `json:"title,omitempty"`
	// Setup and Teardown mark setup and teardown tasks, drawn with
	// Airflow's arrows; an edge from a setup to its teardown is dashed.
	Setup    bool `json:"setup,omitempty"`
	Teardown bool `json:"teardown,omitempty"`
}

// graphStates is the JSON graph.js polls while the run is going. An
// expanded mapped task's state is the aggregate of its map indexes (see
// statePriority), with their number in Counts and their states in Titles.
type graphStates struct {
	States map[string]dags.TaskState `json:"states"`
	Counts map[string]int            `json:"counts,omitempty"`
	Titles map[string]string         `json:"titles,omitempty"`
	Live   bool                      `json:"live"`
}

func (h *handler) graph(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &graphPage{DAG: dag}
	if p.Runs, err = h.Store.RunList(ctx, &store.RunListParams{DagID: dagID, Limit: graphRuns}); err != nil {
		h.fail(w, r, fmt.Errorf("list runs of %s: %w", dagID, err))
		return
	}
	hash := dag.SourceHash
	if runID := r.URL.Query().Get("run_id"); runID != "" {
		if p.Run, err = h.Store.RunGet(ctx, dagID, runID); err != nil {
			h.fail(w, r, err)
			return
		}
	} else if len(p.Runs) > 0 {
		p.Run = p.Runs[0]
	}
	if p.Run != nil {
		hash = p.Run.SourceHash // draw the version the run ran
	}
	d, err := h.DAGs.DAG(ctx, dagID, hash)
	if err != nil {
		h.fail(w, r, fmt.Errorf("load DAG %s: %w", dagID, err))
		return
	}
	g := &graphData{Nodes: make([]graphNode, 0, d.Len())}
	var states *graphStates
	if p.Run != nil {
		if states, err = h.loadStates(ctx, p.Run); err != nil {
			h.fail(w, r, err)
			return
		}
		g.TaskURL = tiURL(dagID, p.Run.RunID, "") + "{task}" // graph.js puts the escaped task id in place of {task}
		g.StatesURL = dagURL(dagID, "graph", "states") + "?run_id=" + url.QueryEscape(p.Run.RunID)
		g.Live = states.Live
	}
	for _, t := range d.Tasks() {
		n := graphNode{ID: t.ID, Name: t.DisplayName, Operator: t.Operator, Group: t.Group, State: dags.TaskStateNone, Mapped: t.IsMapped(),
			Setup: t.IsSetup, Teardown: t.IsTeardown}
		if states != nil {
			if s, ok := states.States[t.ID]; ok {
				n.State = s
			}
			n.MapCount, n.Title = states.Counts[t.ID], states.Titles[t.ID]
		}
		g.Nodes = append(g.Nodes, n)
		for _, down := range t.Downstream {
			g.Edges = append(g.Edges, [2]string{t.ID, down})
			if l := d.EdgeLabel(t.ID, down); l != "" {
				g.EdgeLabels = append(g.EdgeLabels, [3]string{t.ID, down, l})
			}
		}
	}
	p.Graph = g
	h.render(w, r, http.StatusOK, "graph", p)
}

func (h *handler) loadStates(ctx context.Context, run *store.DagRun) (*graphStates, error) {
	tis, err := h.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: run.DagID, RunID: run.RunID})
	if err != nil {
		return nil, fmt.Errorf("list task instances of %s/%s: %w", run.DagID, run.RunID, err)
	}
	out := &graphStates{States: make(map[string]dags.TaskState, len(tis)), Live: !run.State.Finished()}
	mapped, plain := mappedByTask(tis)
	for id, ti := range plain {
		out.States[id] = ti.State
	}
	if len(mapped) > 0 {
		out.Counts = make(map[string]int, len(mapped))
		out.Titles = make(map[string]string, len(mapped))
	}
	for id, list := range mapped {
		sum := summarize(list)
		out.States[id], out.Counts[id], out.Titles[id] = sum.State, sum.Count, sum.Title()
	}
	return out, nil
}

func (h *handler) graphStates(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	run, err := h.Store.RunGet(ctx, r.PathValue("dag"), r.URL.Query().Get("run_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.loadStates(ctx, run)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}
