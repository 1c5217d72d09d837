package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// dbResetCommand is `starflow db reset`, Airflow's `airflow db reset`.
func dbResetCommand() *cli.Command {
	return &cli.Command{
		Name:      "reset",
		Usage:     "drop every table of the metadata database and create the schema again",
		UsageText: "starflow db reset\n   starflow db reset --yes --database-url sqlite://starflow.db",
		Description: "As `airflow db reset`: every DAG, run, task instance, variable, connection, pool, user and token\n" +
			"is gone; the schema is then created as `db migrate` would. Task log files stay on disk. Asks\n" +
			"first (off a terminal, needs --yes).",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("db reset takes no arguments, got %d", c.NArg())
			}
			url := c.String("database-url")
			if !c.Bool("yes") {
				ok, err := confirm(c, fmt.Sprintf("drop every table of %s and all its data? [y/N] ", store.RedactURL(url)))
				if err != nil {
					return err
				}
				if !ok {
					return failedError("nothing dropped")
				}
			}
			s, err := openStoreMode(c.Context, url, store.MigrateNever)
			if err != nil {
				return storeError(err)
			}
			defer s.Close()
			if err := s.Reset(c.Context); err != nil {
				return storeError(err)
			}
			st, err := s.SchemaStatus(c.Context)
			if err != nil {
				return storeError(err)
			}
			fmt.Fprintf(c.App.Writer, "%s: reset, schema version %d\n", store.RedactURL(url), st.Current)
			return nil
		},
	}
}
