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
// uris was updated; a URI listed twice counts once. The URIs are checked by
// CheckDatasetURI when the DAG is finalized.
func DatasetSchedule(uris []string) Schedule {
	var out []string
	seen := map[string]bool{}
	for _, u := range uris {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return Schedule{Kind: ScheduleDatasets, Datasets: out, Expr: DatasetSchedulePrefix + strings.Join(out, ", ")}
}

// DatasetSchedulePrefix starts the String of a dataset schedule ("Dataset:
// s3://a, s3://b"), the form the store and the UI show; the scheduler
// recognises the DAGs scheduled on datasets by it without parsing them.
const DatasetSchedulePrefix = "Dataset: "

// DatasetsOfSchedule returns the URIs of a dataset schedule from its
// String form ("Dataset: s3://a, s3://b"), and false for other schedules.
// URIs hold no white space, so ", " separates them unambiguously.
func DatasetsOfSchedule(expr string) ([]string, bool) {
	rest, ok := strings.CutPrefix(expr, DatasetSchedulePrefix)
	if !ok {
		return nil, false
	}
	return strings.Split(rest, ", "), true
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
