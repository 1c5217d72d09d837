package main

import (
	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// dagsSLAMissesCommand is `starflow dags sla-misses DAG_ID`.
func dagsSLAMissesCommand() *cli.Command {
	return &cli.Command{
		Name:      "sla-misses",
		Usage:     "list the SLA misses of a DAG, latest deadline first",
		ArgsUsage: "DAG_ID",
		Flags: []cli.Flag{
			databaseURLFlag(),
			outputFlag(),
			&cli.StringFlag{Name: "run-id", Usage: "only the misses of this run"},
			&cli.IntFlag{Name: "limit", Value: 100, Usage: "at most this many misses (0: all)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags sla-misses takes one DAG id, got %d arguments", c.NArg())
			}
			if c.Int("limit") < 0 {
				return usageError("--limit must not be negative")
			}
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			p := &store.SLAMissListParams{DagID: c.Args().First(), RunID: c.String("run-id"), Limit: c.Int("limit")}
			return withStore(c, func(s store.Store) error {
				misses, err := s.SLAMissList(c.Context, p)
				if err != nil {
					return err
				}
				rows := make([][]string, len(misses))
				for i, m := range misses {
					rows[i] = []string{m.DagID, m.RunID, m.TaskID, fmtTime(m.LogicalDate), fmtTime(m.Deadline), string(m.State), fmtTime(m.RecordedAt)}
				}
				if misses == nil {
					misses = []*store.SLAMiss{}
				}
				return out.print(misses, []string{"DAG_ID", "RUN_ID", "TASK_ID", "LOGICAL_DATE", "DEADLINE", "STATE", "RECORDED_AT"}, rows)
			})
		},
	}
}
