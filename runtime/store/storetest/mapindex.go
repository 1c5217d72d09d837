package storetest

import (
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testRenderedMapIndex: a finished try records the label its
// map_index_template rendered; a transition without one keeps it, a clear
// (to none) removes it.
func testRenderedMapIndex(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateRunning, "load")
	k := key("etl", "r", "load")
	ti, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateRunning},
		To: dags.TaskStateSuccess, EndDate: base, RenderedMapIndex: "file=orders.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if ti.RenderedMapIndex != "file=orders.csv" {
		t.Fatalf("RenderedMapIndex = %q after the try, want file=orders.csv", ti.RenderedMapIndex)
	}
	list, err := s.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "etl", RunID: "r"})
	if err != nil || len(list) != 1 || list[0].RenderedMapIndex != "file=orders.csv" {
		t.Fatalf("listed %+v (%v), want the rendered map index", list, err)
	}
	ti, err = s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateFailed})
	if err != nil || ti.RenderedMapIndex != "file=orders.csv" {
		t.Fatalf("a transition without a label: %q (%v), want it kept", ti.RenderedMapIndex, err)
	}
	ti, err = s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateNone})
	if err != nil || ti.RenderedMapIndex != "" {
		t.Fatalf("after a clear: %q (%v), want none", ti.RenderedMapIndex, err)
	}
}
