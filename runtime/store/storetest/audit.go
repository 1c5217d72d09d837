package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// testAudit checks that audit entries come back newest first with every
// field, filtered by DAG, event and owner, page by page through Before.
func testAudit(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	for i := range 5 {
		e := &store.AuditEntry{Dttm: at.Add(time.Duration(i) * time.Minute), Event: store.AuditTrigger, DagID: fmt.Sprintf("d%d", i%2),
			RunID: fmt.Sprintf("r%d", i), Owner: "ann", Source: "ui", Extra: `{"conf":{}}`}
		if i == 4 {
			e.Event, e.Owner, e.TaskID = store.AuditClear, "bob", "t1"
		}
		if err := s.AuditAdd(ctx, e); err != nil {
			t.Fatalf("AuditAdd: %v", err)
		}
		if e.ID == 0 {
			t.Fatal("AuditAdd left the id 0")
		}
	}
	all, err := s.AuditList(ctx, &store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("got %d entries, want 5", len(all))
	}
	first := all[0]
	if first.Event != store.AuditClear || first.Owner != "bob" || first.TaskID != "t1" || first.RunID != "r4" || first.DagID != "d0" ||
		first.Source != "ui" || first.Extra != `{"conf":{}}` || !first.Dttm.Equal(at.Add(4*time.Minute)) {
		t.Errorf("newest entry = %+v", first)
	}
	ids := func(es []*store.AuditEntry) string {
		var b strings.Builder
		for _, e := range es {
			b.WriteString(e.RunID)
		}
		return b.String()
	}
	if got := ids(all); got != "r4r3r2r1r0" {
		t.Errorf("order %s, want newest first", got)
	}
	for name, tc := range map[string]struct {
		p    store.AuditListParams
		want string
	}{
		"by DAG":            {store.AuditListParams{DagID: "d1"}, "r3r1"},
		"by event":          {store.AuditListParams{Event: store.AuditClear}, "r4"},
		"by owner":          {store.AuditListParams{Owner: "ann", Limit: 2}, "r3r2"},
		"the page after r3": {store.AuditListParams{Owner: "ann", Before: all[1].ID, Limit: 2}, "r2r1"},
	} {
		got, err := s.AuditList(ctx, &tc.p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ids(got) != tc.want {
			t.Errorf("%s: got %s, want %s", name, ids(got), tc.want)
		}
	}
	if err := s.AuditAdd(ctx, &store.AuditEntry{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("an entry without event: %v, want ErrInvalid", err)
	}
}
