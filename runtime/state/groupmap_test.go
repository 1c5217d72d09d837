package state

import (
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

// mapGroup makes the tasks of group id of d a mapped task group, as
// group(id, fn).expand(...) does.
func mapGroup(d *dags.DAG, id string) {
	g := &dags.MappedGroup{ID: id, Expand: []dags.MapArg{{Name: "x", Value: []any{int64(1), int64(2), int64(3)}}}}
	for _, t := range d.Tasks() {
		if strings.HasPrefix(t.ID, id+".") {
			t.MapGroup = g
		}
	}
}

func TestATaskOfAMappedGroupWaitsOnlyForItsOwnMapIndex(t *testing.T) {
	t.Parallel()
	// Airflow's test_upstream_in_mapped_group_triggers_only_relevant: after
	// t1[0] ran, t2[0] is schedulable, not the other map indexes of t2.
	d := newDAG(t, "start >> tg.t1 >> tg.t2 >> t3")
	mapGroup(d, "tg")
	tis := tiMap("start=success", "tg.t1=[success,running,scheduled]", "tg.t2=[none,none,none]", "t3=none")
	checkChanges(t, Evaluate(d, tis, t0, nil), "tg.t2[0] none scheduled")

	// t3, outside the group, waits for every map index of t2.
	tis = tiMap("start=success", "tg.t1=[success,success,success]", "tg.t2=[success,running,success]", "t3=none")
	checkChanges(t, Evaluate(d, tis, t0, []string{"t3"}))
	tis = tiMap("start=success", "tg.t1=[success,success,success]", "tg.t2=[success,success,success]", "t3=none")
	checkChanges(t, Evaluate(d, tis, t0, []string{"t3"}), "t3 none scheduled")
}

func TestAFailedMapIndexFailsOnlyItsOwnChainInAMappedGroup(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "tg.t1 >> tg.t2 >> t3", "tg.t1 >> tg.cleanup", "tg.cleanup: all_done")
	mapGroup(d, "tg")
	tis := tiMap("tg.t1=[success,failed,success]", "tg.t2=[none,none,none]", "tg.cleanup=[none,none,none]", "t3=none")
	checkChanges(t, Evaluate(d, tis, t0, nil),
		"tg.t2[0] none scheduled", "tg.t2[1] none upstream_failed", "tg.t2[2] none scheduled",
		"t3 none upstream_failed", // at once, as Airflow's all_success does on an upstream_failed upstream
		"tg.cleanup[0] none scheduled", "tg.cleanup[1] none scheduled", "tg.cleanup[2] none scheduled")

	// Outside the group, t3 counts every map index of t2, as Airflow does.
	for rule, want := range map[dags.TriggerRule]string{
		dags.TriggerAllSuccess: "t3 none upstream_failed",
		dags.TriggerAllDone:    "t3 none scheduled",
		dags.TriggerOneSuccess: "t3 none scheduled",
	} {
		d := newDAG(t, "tg.t1 >> tg.t2 >> t3", "t3: "+string(rule))
		mapGroup(d, "tg")
		tis := tiMap("tg.t1=[success,failed,success]", "tg.t2=[success,upstream_failed,success]", "t3=none")
		checkChanges(t, Evaluate(d, tis, t0, []string{"t3"}), want)
	}
}

func TestATaskOfAMappedGroupExpandsOnceTheGroupLengthIsKnown(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "start >> tg.t1 >> tg.t2 >> t3")
	mapGroup(d, "tg")
	// t1 is expanded, so the group's length is known: t2 asks to expand
	// (a change to scheduled at map index -1), then each index waits for its own.
	checkChanges(t, Evaluate(d, tiMap("start=success", "tg.t1=[none,none]", "tg.t2=none", "t3=none"), t0, nil),
		"tg.t1[0] none scheduled", "tg.t1[1] none scheduled", "tg.t2 none scheduled")
	// t1 not expanded yet: t2 waits for it.
	checkChanges(t, Evaluate(d, tiMap("start=running", "tg.t1=none", "tg.t2=none", "t3=none"), t0, nil))
	checkChanges(t, Evaluate(d, tiMap("start=success", "tg.t1=none", "tg.t2=none", "t3=none"), t0, nil), "tg.t1 none scheduled")
	// An expansion into nothing skipped t1: the rest of the group and what
	// follows it under all_success are skipped in the same call.
	checkChanges(t, Evaluate(d, tiMap("start=success", "tg.t1=skipped", "tg.t2=none", "t3=none"), t0, []string{"tg.t2"}),
		"tg.t2 none skipped", "t3 none skipped")
}

func TestAMappedGroupTaskCountsEveryIndexOfAnUpstreamOutsideTheGroup(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "m >> tg.t1")
	mapGroup(d, "tg")
	checkChanges(t, Evaluate(d, tiMap("m=[success,running]", "tg.t1=[none,none,none]"), t0, nil))
	checkChanges(t, Evaluate(d, tiMap("m=[success,success]", "tg.t1=[none,none,none]"), t0, nil),
		"tg.t1[0] none scheduled", "tg.t1[1] none scheduled", "tg.t1[2] none scheduled")
}
