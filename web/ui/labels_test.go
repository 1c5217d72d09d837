package ui_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/starflow-dev/starflow/web/auth"
)

// TestGraphCarriesEdgeLabels: the graph data of Airflow's
// example_branch_labels port holds the labels of its two labelled edges
// (graph.js draws them on the edges), and only those.
func TestGraphCarriesEdgeLabels(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	code, body := get(t, e.as(auth.RoleViewer), "/dags/example_branch_labels/graph")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="graph-data">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no graph data")
	}
	var g struct {
		Edges      [][2]string `json:"edges"`
		EdgeLabels [][3]string `json:"edge_labels"`
	}
	if err := json.Unmarshal([]byte(m[1]), &g); err != nil {
		t.Fatalf("graph data: %v\n%s", err, m[1])
	}
	want := [][3]string{{"check_integrity", "describe_integrity", "Errors found"}, {"check_integrity", "save", "No errors"}}
	slices.SortFunc(g.EdgeLabels, func(a, b [3]string) int { return slices.Compare(a[:], b[:]) })
	if !slices.Equal(g.EdgeLabels, want) {
		t.Errorf("edge labels %v, want %v", g.EdgeLabels, want)
	}
	if len(g.Edges) != 7 {
		t.Errorf("%d edges, want 7: %v", len(g.Edges), g.Edges)
	}
}
