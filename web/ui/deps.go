package ui

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators/sensors"
	"github.com/starflow-dev/starflow/operators/trigger"
	"github.com/starflow-dev/starflow/runtime/store"
)

// The DAG dependencies page (Airflow's Browse → DAG Dependencies): one
// graph of the links between DAGs: a task's outlet dataset to the DAGs
// scheduled on it, a trigger_dag task to the DAG it triggers, and the DAG
// an external_task_sensor waits on to the sensor's DAG. static/deps.js
// lays it out with dagre.

// depsPage is the dependencies graph and the same links as a table.
type depsPage struct {
	Graph depsGraph
	Edges []depsEdge
	// Skipped names the DAGs whose version could not be loaded.
	Skipped []string
}

func (p *depsPage) title() string { return "DAG dependencies" }

// depsGraph is the JSON the page draws from.
type depsGraph struct {
	Nodes []depsNode `json:"nodes"`
	Edges []depsEdge `json:"edges"`
}

// depsNode is a DAG ("dag:" id) or a dataset ("dataset:" URI).
type depsNode struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	URL   string `json:"url"`
}

// depsEdge is one link; Kind is "dataset", "trigger" or "sensor" and Via
// the task that makes it.
type depsEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
	Via  string `json:"via"`
	// FromLabel and ToLabel are the ends' labels, for the table.
	FromLabel string `json:"-"`
	ToLabel   string `json:"-"`
}

// depsMaxDAGs bounds the DAGs the page reads.
const depsMaxDAGs = 10000

func (h *handler) dagDependencies(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadDeps(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "dependencies", p)
}

// loadDeps reads every active DAG's current version (parsed once per
// version by h.DAGs) and collects the links between them.
func (h *handler) loadDeps(ctx context.Context) (*depsPage, error) {
	active := true
	list, err := h.Store.DAGList(ctx, &store.DAGListParams{Active: &active, Limit: depsMaxDAGs})
	if err != nil {
		return nil, fmt.Errorf("list DAGs: %w", err)
	}
	key := depsKey(list)
	if p := h.deps.get(key); p != nil {
		return p, nil
	}
	p, err := h.buildDeps(ctx, list)
	if err != nil {
		return nil, err
	}
	if len(p.Skipped) == 0 {
		h.deps.put(key, p)
	}
	return p, nil
}

// depsCache keeps the last dependency graph built with the DAG versions
// it was built from: building it evaluates every DAG's version (more
// than the version cache holds with many DAGs), while the versions change
// only when a DAG file does.
type depsCache struct {
	mu   sync.Mutex
	key  [sha256.Size]byte
	page *depsPage
}

// get returns the page built for key, or nil.
func (c *depsCache) get(key [sha256.Size]byte) *depsPage {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.page != nil && c.key == key {
		return c.page
	}
	return nil
}

func (c *depsCache) put(key [sha256.Size]byte, p *depsPage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key, c.page = key, p
}

// depsKey identifies the DAGs and the versions of them a graph is built
// from.
func depsKey(list []*store.DAG) [sha256.Size]byte {
	h := sha256.New()
	for _, d := range list {
		h.Write([]byte(d.DagID))
		h.Write([]byte{0})
		h.Write([]byte(d.SourceHash))
		h.Write([]byte{0})
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// buildDeps builds the dependency graph of the DAGs in list.
func (h *handler) buildDeps(ctx context.Context, list []*store.DAG) (*depsPage, error) {
	b := &depsBuilder{nodes: map[string]depsNode{}, seen: map[string]bool{}}
	p := &depsPage{}
	for _, sd := range list {
		d, err := h.DAGs.DAG(ctx, sd.DagID, sd.SourceHash)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil, err
			}
			h.Logger.Warn("ui: DAG dependencies without a DAG's version", "dag_id", sd.DagID, "err", err)
			p.Skipped = append(p.Skipped, sd.DagID)
			continue
		}
		b.add(d)
	}
	p.Graph, p.Edges = b.result()
	return p, nil
}

// depsBuilder collects nodes and edges, each once.
type depsBuilder struct {
	nodes map[string]depsNode
	edges []depsEdge
	seen  map[string]bool
}

func (b *depsBuilder) dag(id string) string {
	key := "dag:" + id
	b.nodes[key] = depsNode{ID: key, Kind: "dag", Label: id, URL: dagURL(id, "grid")}
	return key
}

func (b *depsBuilder) dataset(uri string) string {
	key := "dataset:" + uri
	b.nodes[key] = depsNode{ID: key, Kind: "dataset", Label: uri, URL: datasetURL(uri)}
	return key
}

func (b *depsBuilder) edge(from, to, kind, via string) {
	k := from + "\x00" + to + "\x00" + kind + "\x00" + via
	if b.seen[k] {
		return
	}
	b.seen[k] = true
	b.edges = append(b.edges, depsEdge{From: from, To: to, Kind: kind, Via: via})
}

// literal is a DAG id given as plain text (a templated id such as
// "{{ params.target }}" is only known at run time).
func literal(v any) (string, bool) {
	s, ok := v.(string)
	s = strings.TrimSpace(s)
	return s, ok && s != "" && !strings.Contains(s, "{{")
}

// add records d's links.
func (b *depsBuilder) add(d *dags.DAG) {
	if d.Schedule.Cond != nil {
		me := b.dag(d.ID)
		for _, u := range d.Schedule.Datasets {
			b.edge(b.dataset(u), me, "dataset", "")
		}
	}
	for _, t := range d.Tasks() {
		for _, u := range t.Outlets {
			b.edge(b.dag(d.ID), b.dataset(u), "dataset", t.ID)
		}
		switch t.Operator {
		case trigger.Kind:
			if id, ok := literal(t.Config["trigger_dag_id"]); ok {
				b.edge(b.dag(d.ID), b.dag(id), "trigger", t.ID)
			}
		case sensors.ExternalTaskKind:
			if id, ok := literal(t.Config["external_dag_id"]); ok {
				b.edge(b.dag(id), b.dag(d.ID), "sensor", t.ID)
			}
		}
	}
}

// result returns the nodes (by id) and edges (by ends), each edge with
// its ends' labels.
func (b *depsBuilder) result() (depsGraph, []depsEdge) {
	g := depsGraph{Nodes: make([]depsNode, 0, len(b.nodes)), Edges: b.edges}
	for _, n := range b.nodes {
		g.Nodes = append(g.Nodes, n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	sort.SliceStable(g.Edges, func(i, j int) bool {
		if g.Edges[i].From != g.Edges[j].From {
			return g.Edges[i].From < g.Edges[j].From
		}
		return g.Edges[i].To < g.Edges[j].To
	})
	if g.Edges == nil {
		g.Edges = []depsEdge{}
	}
	for i := range g.Edges {
		g.Edges[i].FromLabel = b.nodes[g.Edges[i].From].Label
		g.Edges[i].ToLabel = b.nodes[g.Edges[i].To].Label
	}
	return g, g.Edges
}
