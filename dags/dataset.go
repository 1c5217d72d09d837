package dags

import (
	"fmt"
	"strings"
)

// MaxDatasetURILen bounds a dataset URI, as Airflow's 3000 characters.
const MaxDatasetURILen = 3000

// ScheduleDatasets is the kind of a schedule made of datasets: the DAG
// runs once every dataset it lists was updated since its previous
// dataset-triggered run. It makes no time-based runs and catchup does not
// apply.
const ScheduleDatasets ScheduleKind = "datasets"

// DatasetSchedule returns the schedule of a DAG that runs when every one of
// uris was updated (Airflow's schedule=[d1, d2]); a URI listed twice counts
// once. The URIs are checked by CheckDatasetURI when the DAG is finalized.
func DatasetSchedule(uris []string) Schedule {
	var out []string
	seen := map[string]bool{}
	for _, u := range uris {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	cond := DatasetCond{Op: DatasetAll}
	for _, u := range out {
		cond.Of = append(cond.Of, DatasetLeaf(u))
	}
	return Schedule{Kind: ScheduleDatasets, Datasets: out, Cond: &cond, Expr: DatasetSchedulePrefix + strings.Join(out, ", ")}
}

// DatasetCondSchedule returns the schedule of a DAG that runs when cond
// holds for the datasets updated since its previous dataset-triggered run
// (Airflow's schedule=(d1 | d2) & d3).
func DatasetCondSchedule(cond DatasetCond) Schedule {
	return Schedule{Kind: ScheduleDatasets, Datasets: cond.URIs(), Cond: &cond, Expr: DatasetSchedulePrefix + cond.String()}
}

// DatasetOrTimeSchedule returns timetable, a periodic schedule, that also
// makes a dataset-triggered run whenever cond holds, as Airflow's
// DatasetOrTimeSchedule (AssetOrTimeSchedule): the time-based runs come as
// timetable makes them, whatever the datasets do.
func DatasetOrTimeSchedule(cond DatasetCond, timetable Schedule) (Schedule, error) {
	if !timetable.Periodic() {
		return Schedule{}, fmt.Errorf("the timetable of a dataset-or-time schedule must be a cron expression, a preset or an interval, got %s", timetable)
	}
	if timetable.Cond != nil {
		return Schedule{}, fmt.Errorf("the timetable of a dataset-or-time schedule must not depend on datasets itself")
	}
	s := timetable
	s.Cond, s.Datasets = &cond, cond.URIs()
	return s, nil
}

// DatasetSchedulePrefix starts the String of a schedule that depends on
// datasets ("Dataset: s3://a, s3://b", "Dataset: s3://a | s3://b",
// "Dataset: s3://a & s3://b; or time: 0 1 * * 3"), the form the store and
// the UI show; the scheduler recognises the DAGs scheduled on datasets by
// it without parsing them.
const DatasetSchedulePrefix = "Dataset: "

// datasetOrTime separates the condition from the timetable in the String
// of a dataset-or-time schedule.
const datasetOrTime = "; or time: "

// DatasetsOfSchedule returns the URIs of a dataset schedule from its
// String form, and false for schedules that do not depend on datasets.
// URIs hold no white space, so the separators (", ", " | ", " & ", the
// parentheses of nested conditions) are told from them; a URI that itself
// starts with "(" or ends with ")" or "," loses those characters here
// (only the UI's links use this; the scheduler reads the parsed DAG).
func DatasetsOfSchedule(expr string) ([]string, bool) {
	rest, ok := strings.CutPrefix(expr, DatasetSchedulePrefix)
	if !ok {
		return nil, false
	}
	if i := strings.LastIndex(rest, datasetOrTime); i >= 0 {
		rest = rest[:i]
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(rest) {
		if f == "|" || f == "&" {
			continue
		}
		u := strings.TrimRight(strings.TrimLeft(strings.TrimSuffix(f, ","), "("), ")")
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, true
}

// CheckDatasetURI reports a dataset URI Starflow does not accept: an empty
// one, one with white space, or one longer than MaxDatasetURILen.
func CheckDatasetURI(uri string) error {
	switch {
	case uri == "":
		return fmt.Errorf("dataset URI must not be empty")
	case len(uri) > MaxDatasetURILen:
		return fmt.Errorf("dataset URI is %d characters long, at most %d are allowed", len(uri), MaxDatasetURILen)
	case strings.ContainsAny(uri, " \t\r\n\v\f"):
		return fmt.Errorf("dataset URI %q must not contain white space", uri)
	}
	return nil
}
