package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/datasets"
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

// listDatasets gathers every dataset with an event or an active consumer
// DAG, by URI, as the web UI lists them.
func listDatasets(c *cli.Context, s store.Store) ([]*datasetRow, error) {
	list, err := datasets.List(c.Context, s, "")
	if err != nil {
		return nil, err
	}
	out := make([]*datasetRow, len(list))
	for i, d := range list {
		r := &datasetRow{URI: d.URI, Events: d.Events, LastEvent: d.LastEventAt, Consumers: d.Consumers}
		if r.Consumers == nil {
			r.Consumers = []string{}
		}
		if e := d.LastEvent; e != nil && e.SourceDagID != "" {
			r.LastProducer = e.SourceDagID + "." + e.SourceTaskID
		}
		out[i] = r
	}
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
