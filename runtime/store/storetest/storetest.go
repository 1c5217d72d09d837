package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// Harness opens stores of one implementation for the suite.
type Harness struct {
	// Open returns a new, empty, migrated store with the given options,
	// closed (and its database removed) when t ends.
	Open func(t testing.TB, opts store.Options) store.Store
	// Exec runs one SQL statement on the database behind s, the way a
	// careless manual edit would, so that the suite can corrupt rows.
	Exec func(t testing.TB, s store.Store, query string)
	// QueryString runs a query returning one text value on the database
	// behind s, so that the suite can look at what is stored at rest.
	QueryString func(t testing.TB, s store.Store, query string) string
}

// open returns a store with a fresh random secret key.
func (h Harness) open(t testing.TB) store.Store {
	t.Helper()
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return h.Open(t, store.Options{Secrets: &secrets.Keyring{Key: secrets.EncodeKey(key)}, Migrate: store.MigrateAuto})
}

// Run runs the whole conformance suite against the implementation h opens.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"DAGs", testDAGs},
		{"DAG versions", testDAGVersions},
		{"import errors", testImportErrors},
		{"audit log", testAudit},
		{"runs", testRuns},
		{"db clean", testDBClean},
		{"dag delete", testDAGDelete},
		{"reset", testReset},
		{"run uniqueness", testRunUniqueness},
		{"run state guards", testRunStateGuards},
		{"run list filters", testRunList},
		{"corrupt conf", testCorruptConf},
		{"task instance creation", testTaskInstancesCreate},
		{"task instance expansion", testTaskInstanceExpand},
		{"task instance states of a run", testTaskInstanceStates},
		{"task instance transitions", testTaskInstanceSetState},
		{"task instance stale transitions", testTaskInstanceStale},
		{"batch transitions", testTaskInstancesSetStates},
		{"end of a try in one transaction", testTaskInstanceEnd},
		{"a start clears the XComs", testStartClearsXComs},
		{"a start indexes its log file", testStartIndexesLogFile},
		{"try ends committed together", testTaskInstancesEnd},
		{"task instance list filters", testTaskInstanceList},
		{"claims", testClaim},
		{"concurrent claims", testConcurrentClaims},
		{"heartbeats", testHeartbeat},
		{"task instance counts", testCounts},
		{"reschedules", testReschedule},
		{"rendered map index", testRenderedMapIndex},
		{"task logs", testTaskLogs},
		{"task log files", testTaskLogFiles},
		{"xcom", testXCom},
		{"xcom limits", testXComLimits},
		{"corrupt xcom", testCorruptXCom},
		{"variables", testVariables},
		{"connections", testConnections},
		{"pools", testPools},
		{"schema status", testSchemaStatus},
		{"users", testUsers},
		{"api tokens", testAPITokens},
		{"workers", testWorkers},
		{"scheduler heartbeats", testSchedulerHeartbeats},
		{"state counts", testStateCounts},
		{"dataset events", testDatasetEvents},
		{"dataset consumers", testDatasetConsumers},
		{"SLA misses", testSLAMisses},
		{"revoked sessions", testRevokedSessions},
		{"login failures", testLoginFailures},
		{"run dates", testRunDates},
		{"task spans", testTaskSpans},
		{"DAG list filters", testDAGListFilters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, h)
		})
	}
}

// base is a time with nanoseconds, so round trips check truncation.
var base = time.Date(2024, 1, 1, 0, 0, 0, 123456789, time.UTC)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// mustRun creates a scheduled run of dagID at base + days.
func mustRun(t testing.TB, s store.Store, dagID, runID string, days int) *store.DagRun {
	t.Helper()
	ld := base.AddDate(0, 0, days)
	r, err := s.RunCreate(ctxT(t), &store.RunCreateParams{
		DagID: dagID, RunID: runID, RunType: dags.RunTypeScheduled, LogicalDate: ld,
		DataIntervalStart: ld, DataIntervalEnd: ld.AddDate(0, 0, 1), SourceHash: "h1",
	})
	if err != nil {
		t.Fatalf("RunCreate %s/%s: %v", dagID, runID, err)
	}
	return r
}

// mustTIs creates unmapped task instances in the given state.
func mustTIs(t testing.TB, s store.Store, dagID, runID string, state dags.TaskState, taskIDs ...string) {
	t.Helper()
	p := &store.TaskInstancesCreateParams{DagID: dagID, RunID: runID}
	for _, id := range taskIDs {
		p.Tasks = append(p.Tasks, store.TaskInstanceCreate{TaskID: id, MapIndex: store.NoMapIndex, State: state, MaxTries: 2, Operator: "bash"})
	}
	if _, err := s.TaskInstancesCreate(ctxT(t), p); err != nil {
		t.Fatalf("TaskInstancesCreate: %v", err)
	}
}

func key(dagID, runID, taskID string) store.TaskInstanceKey {
	return store.TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: store.NoMapIndex}
}

func mustTI(t testing.TB, s store.Store, k store.TaskInstanceKey) *store.TaskInstance {
	t.Helper()
	ti, err := s.TaskInstanceGet(ctxT(t), k)
	if err != nil {
		t.Fatalf("TaskInstanceGet %s: %v", k, err)
	}
	return ti
}

func ptr[T any](v T) *T { return &v }
