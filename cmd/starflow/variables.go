package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// variablesCommand is `starflow variables get|set|list|delete`.
func variablesCommand() *cli.Command {
	common := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{databaseURLFlag(), outputFlag()}, extra...)
	}
	return &cli.Command{
		Name:  "variables",
		Usage: "manage variables (var.value.x in templates, ctx.var() in tasks)",
		Subcommands: []*cli.Command{
			{
				Name:      "get",
				Usage:     "print a variable's value; exit 1 when it does not exist",
				ArgsUsage: "KEY",
				Flags:     common(&cli.StringFlag{Name: "default", Usage: "print this instead of failing when the variable does not exist"}),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("variables get takes one key, got %d arguments", c.NArg())
					}
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					return withStore(c, func(s store.Store) error {
						v, err := s.VariableGet(c.Context, c.Args().First())
						if errors.Is(err, store.ErrNotFound) && c.IsSet("default") {
							v, err = &store.Variable{Key: c.Args().First(), Value: c.String("default")}, nil
						}
						if err != nil {
							return err
						}
						if out.json {
							return out.print(v, nil, nil)
						}
						_, err = fmt.Fprintln(out.w, v.Value)
						return err
					})
				},
			},
			{
				Name:      "set",
				Usage:     "create or replace a variable (VALUE - reads standard input)",
				ArgsUsage: "KEY VALUE",
				Flags: common(
					&cli.BoolFlag{Name: "secret", Usage: "encrypt the value at rest and mask it in task logs"},
					&cli.StringFlag{Name: "description", Usage: "what the variable is for"},
				),
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usageError("variables set takes a key and a value, got %d arguments", c.NArg())
					}
					value := c.Args().Get(1)
					if value == "-" {
						data, err := io.ReadAll(io.LimitReader(os.Stdin, store.MaxVariableBytes+1))
						if err != nil {
							return failedError("read standard input: %v", err)
						}
						value = string(data)
					}
					return withStore(c, func(s store.Store) error {
						if err := s.VariableSet(c.Context, &store.VariableSetParams{Key: c.Args().First(), Value: value,
							Description: c.String("description"), Secret: c.Bool("secret")}); err != nil {
							return err
						}
						extra := "key=" + c.Args().First()
						if c.Bool("secret") {
							extra += " (secret)"
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditVariableSet, Extra: extra})
						return nil
					})
				},
			},
			{
				Name:  "list",
				Usage: "list variables; secret values are shown as ***",
				Flags: common(),
				Action: func(c *cli.Context) error {
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					return withStore(c, func(s store.Store) error {
						vars, err := s.VariableList(c.Context)
						if err != nil {
							return err
						}
						shown := make([]*store.Variable, len(vars))
						rows := make([][]string, len(vars))
						for i, v := range vars {
							cp := *v
							if cp.Secret {
								cp.Value = "***"
							}
							shown[i] = &cp
							rows[i] = []string{cp.Key, oneLine(cp.Value), fmt.Sprint(cp.Secret), cp.Description}
						}
						return out.print(shown, []string{"KEY", "VALUE", "SECRET", "DESCRIPTION"}, rows)
					})
				},
			},
			{
				Name:      "delete",
				Usage:     "delete a variable; exit 1 when it does not exist",
				ArgsUsage: "KEY",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("variables delete takes one key, got %d arguments", c.NArg())
					}
					return withStore(c, func(s store.Store) error {
						if err := s.VariableDelete(c.Context, c.Args().First()); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditVariableDelete, Extra: "key=" + c.Args().First()})
						return nil
					})
				},
			},
			variablesImportCommand(),
			variablesExportCommand(),
		},
	}
}
