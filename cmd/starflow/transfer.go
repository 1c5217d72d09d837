package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/internal/conntest"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Import and export in Airflow's JSON formats: variables as
// {"key": value}, connections as {"conn_id": {"conn_type": ..., ...}}.

func variablesImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "set variables from Airflow's JSON file {\"key\": value}; a value that is not a string is stored as JSON",
		ArgsUsage: "FILE",
		UsageText: "starflow variables import variables.json\n   starflow variables import --action-on-existing-key skip variables.json",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.StringFlag{Name: "action-on-existing-key", Aliases: []string{"a"}, Value: "overwrite", Usage: "overwrite, fail or skip"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("variables import takes one JSON file, got %d arguments", c.NArg())
			}
			action := c.String("action-on-existing-key")
			if action != "overwrite" && action != "fail" && action != "skip" {
				return usageError("--action-on-existing-key %q: want overwrite, fail or skip", action)
			}
			data, err := readInput(c.Args().First())
			if err != nil {
				return err
			}
			var in map[string]json.RawMessage
			if err := json.Unmarshal(data, &in); err != nil {
				return usageError("%s: want a JSON object {\"key\": value}: %v", c.Args().First(), err)
			}
			keys := sortedKeys(in)
			return withStore(c, func(s store.Store) error {
				set, skipped := 0, 0
				for _, k := range keys {
					var value string
					if err := json.Unmarshal(in[k], &value); err != nil {
						value = string(in[k]) // a number, an object...: its JSON
					}
					if action != "overwrite" {
						_, err := s.VariableGet(c.Context, k)
						switch {
						case err == nil && action == "fail":
							return failedError("variable %q exists (--action-on-existing-key fail); %d variables imported before it", k, set)
						case err == nil:
							skipped++
							continue
						case !errors.Is(err, store.ErrNotFound):
							return err
						}
					}
					if err := s.VariableSet(c.Context, &store.VariableSetParams{Key: k, Value: value}); err != nil {
						return fmt.Errorf("variable %q: %w", k, err)
					}
					set++
				}
				fmt.Fprintf(c.App.Writer, "imported %d variables from %s", set, c.Args().First())
				if skipped > 0 {
					fmt.Fprintf(c.App.Writer, " (%d existing skipped)", skipped)
				}
				fmt.Fprintln(c.App.Writer)
				return nil
			})
		},
	}
}

func variablesExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write variables to Airflow's JSON file {\"key\": value} (- for standard output); secret ones only with --include-secrets",
		ArgsUsage: "FILE",
		UsageText: "starflow variables export variables.json\n   starflow variables export - | jq .",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.BoolFlag{Name: "include-secrets", Usage: "also write the secret variables' values, in clear"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("variables export takes one file (- for standard output), got %d arguments", c.NArg())
			}
			return withStore(c, func(s store.Store) error {
				vars, err := s.VariableList(c.Context)
				if err != nil {
					return err
				}
				out := map[string]any{}
				skipped := 0
				for _, v := range vars {
					if v.Secret && !c.Bool("include-secrets") {
						skipped++
						continue
					}
					// As Airflow: a value that is JSON is written as JSON.
					var parsed any
					if json.Unmarshal([]byte(v.Value), &parsed) == nil {
						out[v.Key] = parsed
					} else {
						out[v.Key] = v.Value
					}
				}
				if skipped > 0 {
					fmt.Fprintf(c.App.ErrWriter, "starflow: %d secret variables left out (--include-secrets writes them)\n", skipped)
				}
				return writeOutput(c, c.Args().First(), out, len(out), "variables", 0o600)
			})
		},
	}
}

// connectionFileEntry is one connection of Airflow's connections JSON.
type connectionFileEntry struct {
	Type        string `json:"conn_type"`
	Description string `json:"description"`
	Host        string `json:"host"`
	Login       string `json:"login"`
	Password    string `json:"password,omitempty"`
	Schema      string `json:"schema"`
	Port        *int   `json:"port"`
	// Extra is a JSON object, or (as Airflow writes it) a string holding one.
	Extra json.RawMessage `json:"extra,omitempty"`
}

func connectionsImportCommand() *cli.Command {
	return &cli.Command{
		Name: "import",
		Usage: "add connections from Airflow's JSON file {\"conn_id\": {\"conn_type\": ..., \"host\": ...}} or {\"conn_id\": \"URI\"}; " +
			"existing ones are skipped unless --overwrite",
		ArgsUsage: "FILE",
		UsageText: "starflow connections import connections.json\n   starflow connections import --overwrite connections.json",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.BoolFlag{Name: "overwrite", Usage: "replace connections that exist"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("connections import takes one JSON file, got %d arguments", c.NArg())
			}
			data, err := readInput(c.Args().First())
			if err != nil {
				return err
			}
			var in map[string]json.RawMessage
			if err := json.Unmarshal(data, &in); err != nil {
				return usageError("%s: want a JSON object {\"conn_id\": {...}}: %v", c.Args().First(), err)
			}
			conns := make([]*store.ConnectionCreateParams, 0, len(in))
			for _, id := range sortedKeys(in) {
				p, err := parseConnectionEntry(id, in[id])
				if err != nil {
					return usageError("%s: connection %q: %v", c.Args().First(), id, err)
				}
				conns = append(conns, p)
			}
			return withStore(c, func(s store.Store) error {
				added, skipped := 0, 0
				for _, p := range conns {
					_, err := s.ConnectionGet(c.Context, p.Connection.ID)
					switch {
					case err == nil && !c.Bool("overwrite"):
						fmt.Fprintf(c.App.ErrWriter, "starflow: connection %s exists: skipped (--overwrite replaces it)\n", p.Connection.ID)
						skipped++
						continue
					case err == nil:
						if err := s.ConnectionDelete(c.Context, p.Connection.ID); err != nil {
							return err
						}
					case !errors.Is(err, store.ErrNotFound):
						return err
					}
					if err := s.ConnectionCreate(c.Context, p); err != nil {
						return fmt.Errorf("connection %q: %w", p.Connection.ID, err)
					}
					added++
				}
				fmt.Fprintf(c.App.Writer, "imported %d connections from %s", added, c.Args().First())
				if skipped > 0 {
					fmt.Fprintf(c.App.Writer, " (%d existing skipped)", skipped)
				}
				fmt.Fprintln(c.App.Writer)
				return nil
			})
		},
	}
}

// parseConnectionEntry reads one connection of an import file: an object
// of Airflow's fields, or a URI string.
func parseConnectionEntry(id string, raw json.RawMessage) (*store.ConnectionCreateParams, error) {
	var uri string
	if json.Unmarshal(raw, &uri) == nil {
		conn, err := store.ParseConnectionURI(id, uri)
		if err != nil {
			return nil, err
		}
		return &store.ConnectionCreateParams{Connection: *conn}, nil
	}
	var e connectionFileEntry
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if e.Type == "" {
		return nil, fmt.Errorf("conn_type is missing")
	}
	conn := operators.Connection{ID: id, Type: e.Type, Host: e.Host, Login: e.Login, Password: e.Password, Schema: e.Schema}
	if e.Port != nil {
		conn.Port = *e.Port
	}
	if len(e.Extra) > 0 && string(e.Extra) != "null" {
		var text string
		extra := []byte(e.Extra)
		if json.Unmarshal(e.Extra, &text) == nil {
			extra = []byte(text)
		}
		if len(strings.TrimSpace(string(extra))) > 0 {
			if err := json.Unmarshal(extra, &conn.Extra); err != nil {
				return nil, fmt.Errorf("extra: want a JSON object: %v", err)
			}
		}
	}
	return &store.ConnectionCreateParams{Connection: conn, Description: e.Description}, nil
}

func connectionsExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write connections to Airflow's JSON file (- for standard output); passwords only with --include-passwords",
		ArgsUsage: "FILE",
		UsageText: "starflow connections export connections.json\n   starflow connections export --include-passwords backup.json",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.BoolFlag{Name: "include-passwords", Usage: "also write the passwords, in clear (the file is readable by its owner only)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("connections export takes one file (- for standard output), got %d arguments", c.NArg())
			}
			if c.Args().First() == "-" && c.Bool("include-passwords") {
				return usageError("--include-passwords writes to a file only, not to standard output")
			}
			return withStore(c, func(s store.Store) error {
				conns, err := s.ConnectionList(c.Context)
				if err != nil {
					return err
				}
				out := map[string]connectionFileEntry{}
				for _, cn := range conns {
					e := connectionFileEntry{Type: cn.Type, Description: cn.Description, Host: cn.Host, Login: cn.Login, Schema: cn.Schema}
					if cn.Port != 0 {
						port := cn.Port
						e.Port = &port
					}
					if c.Bool("include-passwords") {
						e.Password = cn.Password
					}
					if len(cn.Extra) > 0 {
						x, err := json.Marshal(cn.Extra)
						if err != nil {
							return err
						}
						// As Airflow writes it: a string holding the JSON.
						e.Extra, _ = json.Marshal(string(x))
					}
					out[cn.ID] = e
				}
				return writeOutput(c, c.Args().First(), out, len(out), "connections", 0o600)
			})
		},
	}
}

func connectionsTestCommand() *cli.Command {
	return &cli.Command{
		Name: "test",
		Usage: "check that a connection's system answers: postgres logs in and runs SELECT 1, http(s) gets the URL, " +
			"other types open a TCP connection to host:port",
		ArgsUsage: "CONN_ID",
		UsageText: "starflow connections test warehouse",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "give up after this long"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("connections test takes one connection id, got %d arguments", c.NArg())
			}
			return withStore(c, func(s store.Store) error {
				conn, err := s.ConnectionGet(c.Context, c.Args().First())
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
				defer cancel()
				what, err := conntest.Test(ctx, &conn.Connection)
				if err != nil {
					return failedError("connection %s: %s failed: %v", conn.ID, what, err)
				}
				fmt.Fprintf(c.App.Writer, "connection %s: ok (%s)\n", conn.ID, what)
				return nil
			})
		},
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
