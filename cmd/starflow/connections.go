package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// connectionsCommand is `starflow connections add|get|list|delete`.
// Passwords are stored encrypted and never printed.
func connectionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "connections",
		Usage: "manage connections to external systems (ctx.conn() in tasks); passwords are never printed",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a connection, from --conn-uri or from --conn-type and the other --conn-* flags",
				ArgsUsage: "CONN_ID",
				Flags: []cli.Flag{
					databaseURLFlag(),
					&cli.StringFlag{Name: "conn-uri", Usage: "Airflow's URI form: type://login:password@host:port/schema?extra=value"},
					&cli.StringFlag{Name: "conn-type", Usage: "connection type (postgres, http, …)"},
					&cli.StringFlag{Name: "conn-host"},
					&cli.IntFlag{Name: "conn-port"},
					&cli.StringFlag{Name: "conn-schema"},
					&cli.StringFlag{Name: "conn-login"},
					&cli.StringFlag{Name: "conn-password"},
					&cli.StringFlag{Name: "conn-extra", Usage: "extras as a JSON object"},
					&cli.StringFlag{Name: "conn-description"},
				},
				Action: runConnectionsAdd,
			},
			{
				Name:      "get",
				Usage:     "show a connection (without its password); exit 1 when it does not exist",
				ArgsUsage: "CONN_ID",
				Flags:     []cli.Flag{databaseURLFlag(), outputFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("connections get takes one connection id, got %d arguments", c.NArg())
					}
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					return withStore(c, func(s store.Store) error {
						conn, err := s.ConnectionGet(c.Context, c.Args().First())
						if err != nil {
							return err
						}
						return printConnections(out, []*store.Connection{conn}, true)
					})
				},
			},
			{
				Name:  "list",
				Usage: "list connections (without passwords)",
				Flags: []cli.Flag{databaseURLFlag(), outputFlag()},
				Action: func(c *cli.Context) error {
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					return withStore(c, func(s store.Store) error {
						conns, err := s.ConnectionList(c.Context)
						if err != nil {
							return err
						}
						return printConnections(out, conns, false)
					})
				},
			},
			{
				Name:      "delete",
				Usage:     "delete a connection; exit 1 when it does not exist",
				ArgsUsage: "CONN_ID",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("connections delete takes one connection id, got %d arguments", c.NArg())
					}
					return withStore(c, func(s store.Store) error {
						if err := s.ConnectionDelete(c.Context, c.Args().First()); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditConnectionDelete, Extra: "conn_id=" + c.Args().First()})
						return nil
					})
				},
			},
			connectionsImportCommand(),
			connectionsExportCommand(),
			connectionsTestCommand(),
		},
	}
}

func runConnectionsAdd(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("connections add takes one connection id, got %d arguments", c.NArg())
	}
	id := c.Args().First()
	var conn *operators.Connection
	switch {
	case c.IsSet("conn-uri") && c.IsSet("conn-type"):
		return usageError("give either --conn-uri or --conn-type with the other --conn-* flags, not both")
	case c.IsSet("conn-uri"):
		var err error
		if conn, err = store.ParseConnectionURI(id, c.String("conn-uri")); err != nil {
			return usageError("%v", err)
		}
	case c.IsSet("conn-type"):
		conn = &operators.Connection{ID: id, Type: c.String("conn-type"), Host: c.String("conn-host"), Port: c.Int("conn-port"),
			Schema: c.String("conn-schema"), Login: c.String("conn-login"), Password: c.String("conn-password")}
		if x := c.String("conn-extra"); x != "" {
			if err := json.Unmarshal([]byte(x), &conn.Extra); err != nil {
				return usageError("--conn-extra: want a JSON object: %v", err)
			}
		}
	default:
		return usageError("connections add needs --conn-uri or --conn-type")
	}
	return withStore(c, func(s store.Store) error {
		if err := s.ConnectionCreate(c.Context, &store.ConnectionCreateParams{Connection: *conn, Description: c.String("conn-description")}); err != nil {
			return err
		}
		cliAudit(c, s, store.AuditEntry{Event: store.AuditConnectionSet, Extra: "conn_id=" + id + " type=" + conn.Type})
		fmt.Fprintf(c.App.Writer, "added connection %s: %s\n", id, store.ConnectionURI(conn, false))
		return nil
	})
}

// connectionView is a connection as the CLI shows it: never the password.
type connectionView struct {
	ID          string         `json:"conn_id"`
	Type        string         `json:"conn_type"`
	Description string         `json:"description"`
	Host        string         `json:"host"`
	Port        int            `json:"port"`
	Schema      string         `json:"schema"`
	Login       string         `json:"login"`
	HasPassword bool           `json:"has_password"`
	Extra       map[string]any `json:"extra"`
	URI         string         `json:"uri"`
}

func printConnections(out *printer, conns []*store.Connection, one bool) error {
	views := make([]connectionView, len(conns))
	rows := make([][]string, len(conns))
	for i, c := range conns {
		views[i] = connectionView{ID: c.ID, Type: c.Type, Description: c.Description, Host: c.Host, Port: c.Port,
			Schema: c.Schema, Login: c.Login, HasPassword: c.Password != "", Extra: c.Extra, URI: store.ConnectionURI(&c.Connection, false)}
		port := ""
		if c.Port != 0 {
			port = fmt.Sprint(c.Port)
		}
		rows[i] = []string{c.ID, c.Type, c.Host, port, c.Schema, c.Login, c.Description}
	}
	if one && out.json {
		return out.print(views[0], nil, nil)
	}
	return out.print(views, []string{"CONN_ID", "CONN_TYPE", "HOST", "PORT", "SCHEMA", "LOGIN", "DESCRIPTION"}, rows)
}
