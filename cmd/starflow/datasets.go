package main

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// datasetsCommand is `starflow datasets list`.
func datasetsCommand() *cli.Command {
	return &cli.Command{
		Name:  "datasets",
		Usage: "datasets: what updated them and which DAGs they schedule",
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "list the datasets DAGs are scheduled on or tasks updated, with their events and consumers",
			Flags: []cli.Flag{databaseURLFlag(), outputFlag()},
			Action: func(c *cli.Context) error {
				out, err := newPrinter(c)
				if err != nil {
					return err
				}
				return withStore(c, func(s store.Store) error {
					list, err := listDatasets(c, s)
					if err != nil {
						return err
					}
					rows := make([][]string, len(list))
					for i, d := range list {
						last := "-"
						if d.Events > 0 {
							last = fmtTime(d.LastEvent)
						}
						rows[i] = []string{d.URI, strconv.Itoa(d.Events), last, orDash(d.LastProducer), orDash(strings.Join(d.Consumers, ","))}
					}
					return out.print(list, []string{"URI", "EVENTS", "LAST_EVENT", "LAST_UPDATED_BY", "CONSUMERS"}, rows)
				})
			},
		}},
	}
}

// datasetRow is one dataset as `datasets list` shows it.
type datasetRow struct {
	URI          string    `json:"uri"`
	Events       int       `json:"events"`
	LastEvent    time.Time `json:"last_event,omitzero"`
	LastProducer string    `json:"last_updated_by"`
	Consumers    []string  `json:"consumers"`
}

// listDatasets gathers every dataset with an event or a consumer DAG, by URI.
func listDatasets(c *cli.Context, s store.Store) ([]*datasetRow, error) {
	byURI := map[string]*datasetRow{}
	row := func(uri string) *datasetRow {
		r := byURI[uri]
		if r == nil {
			r = &datasetRow{URI: uri, Consumers: []string{}}
			byURI[uri] = r
		}
		return r
	}
	stats, err := s.DatasetEventStats(c.Context, &store.DatasetEventStatsParams{})
	if err != nil {
		return nil, err
	}
	for _, st := range stats {
		r := row(st.URI)
		r.Events, r.LastEvent = st.Count, st.Last
		last, err := s.DatasetEventList(c.Context, &store.DatasetEventListParams{URIs: []string{st.URI}, NewestFirst: true, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(last) == 1 && last[0].SourceDagID != "" {
			r.LastProducer = last[0].SourceDagID + "." + last[0].SourceTaskID
		}
	}
	active := true // as the scheduler: a DAG no file defines any more consumes nothing
	all, err := s.DAGList(c.Context, &store.DAGListParams{Active: &active})
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		uris, ok := dags.DatasetsOfSchedule(d.Schedule)
		if !ok {
			continue
		}
		for _, u := range uris {
			r := row(u)
			r.Consumers = append(r.Consumers, d.DagID)
		}
	}
	out := make([]*datasetRow, 0, len(byURI))
	for _, r := range byURI {
		sort.Strings(r.Consumers)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
