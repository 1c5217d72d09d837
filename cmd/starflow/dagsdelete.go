package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// dagsDeleteCommand is `starflow dags delete`, Airflow's `airflow dags
// delete`: every record of the DAG goes; its file stays.
func dagsDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete every record of a DAG from the metadata database (runs, task instances, logs, XComs)",
		ArgsUsage: "DAG_ID",
		UsageText: "starflow dags delete etl\n   starflow dags delete etl --yes",
		Description: "As `airflow dags delete`: the DAG's row, runs, task instances, logs (their files in --log-folder\n" +
			"too), XComs, SLA misses and dataset cursor go. The DAG file stays in the DAG folder, so the DAG\n" +
			"comes back, empty, at the next parse: remove the file first to be rid of it. Asks first (off a\n" +
			"terminal, needs --yes).",
		Flags: []cli.Flag{
			databaseURLFlag(),
			logFolderFlag(),
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags delete takes one DAG id, got %d arguments", c.NArg())
			}
			dagID := c.Args().First()
			return withStore(c, func(s store.Store) error {
				file := ""
				switch d, err := s.DAGGet(c.Context, dagID); {
				case err == nil:
					file = d.File
				case errors.Is(err, store.ErrNotFound):
				default:
					return err
				}
				if !c.Bool("yes") {
					ok, err := confirm(c, fmt.Sprintf("delete every record of DAG %s (its runs, task instances, logs and XComs)? [y/N] ", dagID))
					if err != nil {
						return err
					}
					if !ok {
						return failedError("nothing deleted")
					}
				}
				n, err := s.DAGDelete(c.Context, dagID)
				if errors.Is(err, store.ErrNotFound) {
					return failedError("DAG %q is not in the metadata database", dagID)
				}
				if err != nil {
					return err
				}
				cliAudit(c, s, store.AuditEntry{Event: store.AuditDAGDelete, DagID: dagID,
					Extra: fmt.Sprintf("runs=%d task_instances=%d xcoms=%d", n.Runs, n.TaskInstances, n.XComs)})
				removed, rmErr := tasklog.New(s, logFolder(c, c.String("database-url")), "").Remove(n.LogPaths)
				fmt.Fprintf(c.App.Writer, "deleted DAG %s: %d runs, %d task instances, %d XComs, %d log chunks, %d log files\n",
					dagID, n.Runs, n.TaskInstances, n.XComs, n.LogChunks, removed)
				if file != "" {
					fmt.Fprintf(c.App.ErrWriter, "%s stays in the DAG folder: the DAG comes back at its next parse unless you remove the file\n", file)
				}
				if rmErr != nil {
					return fmt.Errorf("some log files of the deleted runs stay: %w", rmErr)
				}
				return nil
			})
		},
	}
}
