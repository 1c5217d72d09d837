package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// TestRequeueLostQueuesAgainWhatADeadProcessQueued plays standalone dying
// with a task instance queued in its in-process queue: the next process
// starts with an empty queue, returns the instance to scheduled and runs it.
func TestRequeueLostQueuesAgainWhatADeadProcessQueued(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		dead := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		dead.register(dagSpec{id: "chain", schedule: "@daily", start: "2024-01-01", tasks: "a b", edges: "a>>b"}, now)
		if st := dead.tick(now); st.Queued != 1 {
			t.Fatalf("first tick queued %d, want a", st.Queued)
		}
		run := dead.runs("chain")[0].RunID

		next := setup(t, s) // a new process: same database, empty queue
		next.src = dead.src
		next.sched.DAGs = dead.src
		for _, tc := range []struct {
			before time.Time
			want   int
			state  string
		}{
			{now, 0, "queued/1"}, // queued at now, not before: left alone
			{now.Add(time.Second), 1, "scheduled/1"},
			{now.Add(time.Second), 0, "scheduled/1"}, // nothing left to requeue
		} {
			n, err := next.sched.RequeueLost(next.ctx, tc.before)
			if err != nil {
				t.Fatal(err)
			}
			if got := next.states("chain", run)["a"]; n != tc.want || got != tc.state {
				t.Fatalf("RequeueLost(%s) = %d, a is %s; want %d, %s", tc.before.Format(time.TimeOnly), n, got, tc.want, tc.state)
			}
		}
		later := now.Add(2 * time.Second)
		if st := next.tick(later); st.Queued != 1 {
			t.Fatalf("tick after requeue queued %d, want a again", st.Queued)
		}
		if got := strings.Join(next.work(later, succeed), " "); got != "a:1 b:1" {
			t.Fatalf("ran %s, want a:1 b:1 (a keeps its try number)", got)
		}
	})
}
