package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// dbCommand is `starflow db migrate|check|clean|reset`.
func dbCommand() *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "create, upgrade and check the metadata database",
		Subcommands: []*cli.Command{
			{
				Name:  "migrate",
				Usage: "create or upgrade the schema to this binary's version",
				Flags: []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					url := c.String("database-url")
					s, err := openStoreMode(c.Context, url, store.MigrateNever)
					if err != nil {
						return storeError(err)
					}
					defer s.Close()
					before, err := s.SchemaStatus(c.Context)
					if err != nil {
						return failedError("%v", err)
					}
					if err := s.Migrate(c.Context); err != nil {
						return storeError(err)
					}
					if before.UpToDate() {
						fmt.Fprintf(c.App.Writer, "%s: schema already at version %d\n", store.RedactURL(url), before.Latest)
					} else {
						fmt.Fprintf(c.App.Writer, "%s: schema migrated from version %d to %d\n", store.RedactURL(url), before.Current, before.Latest)
					}
					return nil
				},
			},
			{
				Name:  "check",
				Usage: "check that the database answers and its schema is current; exit 1 if not",
				Flags: []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					url := c.String("database-url")
					s, err := openStoreMode(c.Context, url, store.MigrateNever)
					if err != nil {
						if errors.Is(err, store.ErrInvalid) {
							return usageError("%v", err)
						}
						return failedError("cannot connect: %v", err)
					}
					defer s.Close()
					st, err := s.SchemaStatus(c.Context)
					switch {
					case err != nil:
						return failedError("%s: %v", store.RedactURL(url), err)
					case st.Current > st.Latest:
						return failedError("%s: schema version %d is newer than this binary's %d: upgrade starflow", store.RedactURL(url), st.Current, st.Latest)
					case st.Current < st.Latest:
						return failedError("%s: schema version %d, this binary needs %d: run `starflow db migrate`", store.RedactURL(url), st.Current, st.Latest)
					}
					fmt.Fprintf(c.App.Writer, "%s: ok, schema version %d\n", store.RedactURL(url), st.Current)
					return nil
				},
			},
			dbCleanCommand(),
			dbResetCommand(),
		},
	}
}

// dbCleanCommand is `starflow db clean`, Airflow's `airflow db clean`.
func dbCleanCommand() *cli.Command {
	return &cli.Command{
		Name:  "clean",
		Usage: "delete finished runs older than a date with their task instances, logs and XComs",
		Description: "As `airflow db clean`: runs that finished (success or failed) and started before --older-than go,\n" +
			"with their task instances, logs (their files in --log-folder too), XComs and SLA misses; the latest\n" +
			"scheduled run of each DAG and every\n" +
			"unfinished run stay. --tables task_log,xcom prunes only those of the old runs. Asks first (off a\n" +
			"terminal, needs --yes); --dry-run only counts.",
		Flags: []cli.Flag{
			databaseURLFlag(),
			logFolderFlag(),
			&cli.StringFlag{Name: "older-than", Usage: "a date (2024-01-01 or RFC 3339) or an age (30d, 12h)", Required: true},
			&cli.StringSliceFlag{Name: "tables", Usage: "only these: " + strings.Join(store.CleanTables, ", ")},
			&cli.BoolFlag{Name: "dry-run", Usage: "count what would be deleted; delete nothing"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("db clean takes no arguments, got %d", c.NArg())
			}
			before, err := parseOlderThan(c.String("older-than"), time.Now())
			if err != nil {
				return usageError("--older-than: %v", err)
			}
			var tables []string
			for _, t := range c.StringSlice("tables") {
				for _, part := range strings.Split(t, ",") {
					if part = strings.TrimSpace(part); part != "" {
						tables = append(tables, part)
					}
				}
			}
			return withStore(c, func(s store.Store) error {
				p := &store.DBCleanParams{Before: before, Tables: tables, DryRun: true}
				n, err := s.DBClean(c.Context, p)
				if errors.Is(err, store.ErrInvalid) {
					return usageError("%v", err)
				}
				if err != nil {
					return err
				}
				summary := fmt.Sprintf("%d runs, %d task instances, %d XComs, %d log chunks (%d bytes), %d log files from before %s",
					n.Runs, n.TaskInstances, n.XComs, n.LogChunks, n.LogBytes, n.LogFiles, before.Format(time.RFC3339))
				if c.Bool("dry-run") {
					fmt.Fprintf(c.App.Writer, "would delete %s\n", summary)
					return nil
				}
				if !c.Bool("yes") {
					ok, err := confirm(c, "delete "+summary+"? [y/N] ")
					if err != nil || !ok {
						return err
					}
				}
				p.DryRun = false
				if n, err = s.DBClean(c.Context, p); err != nil {
					return err
				}
				cliAudit(c, s, store.AuditEntry{Event: store.AuditDBClean, Extra: "deleted " + summary})
				// The rows are gone: a file left behind by a failure here is
				// only disk, never shown again.
				removed, err := tasklog.New(s, logFolder(c, c.String("database-url")), "").Remove(n.LogPaths)
				fmt.Fprintf(c.App.Writer, "deleted %d runs, %d task instances, %d XComs, %d log chunks (%d bytes), %d log files\n",
					n.Runs, n.TaskInstances, n.XComs, n.LogChunks, n.LogBytes, removed)
				if err != nil {
					return fmt.Errorf("some log files of the pruned runs stay: %w", err)
				}
				return nil
			})
		},
	}
}

// parseOlderThan reads a cut-off: a date, or an age counted back from now.
func parseOlderThan(s string, now time.Time) (time.Time, error) {
	if d, err := dags.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("age %q must be positive", s)
		}
		return now.Add(-d), nil
	}
	t, err := dags.ParseDate(s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2024-01-01, RFC 3339) nor an age (30d, 12h)", s)
	}
	return t, nil
}
