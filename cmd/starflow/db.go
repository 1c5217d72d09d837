package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// dbCommand is `starflow db migrate|check`.
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
		},
	}
}
