package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// poolFileEntry is one pool of Airflow's pools JSON file:
// {"name": {"slots": 5, "description": "..."}}.
type poolFileEntry struct {
	Slots       int    `json:"slots"`
	Description string `json:"description"`
}

// poolsCommand is `starflow pools list|get|set|delete|import|export`, as
// Airflow's `airflow pools`.
func poolsCommand() *cli.Command {
	common := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{databaseURLFlag(), outputFlag()}, extra...)
	}
	return &cli.Command{
		Name:  "pools",
		Usage: "manage pools: how many task slots run at once per pool (a task's pool = \"name\")",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list pools with their slots in use",
				UsageText: "starflow pools list\n   starflow pools list -o yaml",
				Flags:     common(),
				Action: func(c *cli.Context) error {
					return withPrinterStore(c, func(out *printer, s store.Store) error {
						pools, err := s.PoolList(c.Context)
						if err != nil {
							return err
						}
						return printPools(out, pools)
					})
				},
			},
			{
				Name:      "get",
				Usage:     "show one pool; exit 1 when it does not exist",
				ArgsUsage: "NAME",
				UsageText: "starflow pools get default_pool",
				Flags:     common(),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("pools get takes one pool name, got %d arguments", c.NArg())
					}
					return withPrinterStore(c, func(out *printer, s store.Store) error {
						p, err := s.PoolGet(c.Context, c.Args().First())
						if err != nil {
							return err
						}
						return printPools(out, []*store.Pool{p})
					})
				},
			},
			{
				Name:      "set",
				Usage:     "create a pool or change its slots and description",
				ArgsUsage: "NAME SLOTS [DESCRIPTION]",
				UsageText: "starflow pools set warehouse 4 \"at most 4 queries on the warehouse\"",
				Flags:     common(),
				Action: func(c *cli.Context) error {
					if c.NArg() < 2 || c.NArg() > 3 {
						return usageError("pools set takes a name, a number of slots and a description, got %d arguments", c.NArg())
					}
					slots, err := strconv.Atoi(c.Args().Get(1))
					if err != nil {
						return usageError("pools set: slots %q is not a whole number", c.Args().Get(1))
					}
					return withPrinterStore(c, func(out *printer, s store.Store) error {
						p := &store.PoolSetParams{Name: c.Args().First(), Slots: slots, Description: c.Args().Get(2)}
						if c.NArg() == 2 {
							if old, err := s.PoolGet(c.Context, p.Name); err == nil {
								p.Description = old.Description
							}
						}
						if err := s.PoolSet(c.Context, p); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditPoolSet, Extra: fmt.Sprintf("pool=%s slots=%d", p.Name, p.Slots)})
						got, err := s.PoolGet(c.Context, p.Name)
						if err != nil {
							return err
						}
						return printPools(out, []*store.Pool{got})
					})
				},
			},
			{
				Name:      "delete",
				Usage:     "delete a pool (not default_pool); exit 1 when it does not exist",
				ArgsUsage: "NAME",
				UsageText: "starflow pools delete warehouse",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("pools delete takes one pool name, got %d arguments", c.NArg())
					}
					return withStore(c, func(s store.Store) error {
						if err := s.PoolDelete(c.Context, c.Args().First()); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditPoolDelete, Extra: "pool=" + c.Args().First()})
						fmt.Fprintf(c.App.Writer, "deleted pool %s\n", c.Args().First())
						return nil
					})
				},
			},
			{
				Name:      "import",
				Usage:     "create or update pools from Airflow's JSON file: {\"name\": {\"slots\": 5, \"description\": \"...\"}}",
				ArgsUsage: "FILE",
				UsageText: "starflow pools import pools.json",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("pools import takes one JSON file, got %d arguments", c.NArg())
					}
					data, err := readInput(c.Args().First())
					if err != nil {
						return err
					}
					var in map[string]poolFileEntry
					if err := json.Unmarshal(data, &in); err != nil {
						return usageError("%s: want {\"name\": {\"slots\": N, \"description\": \"...\"}}: %v", c.Args().First(), err)
					}
					names := make([]string, 0, len(in))
					for n := range in {
						names = append(names, n)
					}
					sort.Strings(names)
					return withStore(c, func(s store.Store) error {
						for _, n := range names {
							if err := s.PoolSet(c.Context, &store.PoolSetParams{Name: n, Slots: in[n].Slots, Description: in[n].Description}); err != nil {
								return fmt.Errorf("pool %s: %w", n, err)
							}
						}
						fmt.Fprintf(c.App.Writer, "imported %d pools from %s\n", len(names), c.Args().First())
						return nil
					})
				},
			},
			{
				Name:      "export",
				Usage:     "write every pool to Airflow's JSON file format (- for standard output)",
				ArgsUsage: "FILE",
				UsageText: "starflow pools export pools.json",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("pools export takes one file (- for standard output), got %d arguments", c.NArg())
					}
					return withStore(c, func(s store.Store) error {
						pools, err := s.PoolList(c.Context)
						if err != nil {
							return err
						}
						outm := map[string]poolFileEntry{}
						for _, p := range pools {
							outm[p.Name] = poolFileEntry{Slots: p.Slots, Description: p.Description}
						}
						return writeOutput(c, c.Args().First(), outm, len(pools), "pools", 0o644)
					})
				},
			},
		},
	}
}

func printPools(out *printer, pools []*store.Pool) error {
	rows := make([][]string, len(pools))
	for i, p := range pools {
		rows[i] = []string{p.Name, fmt.Sprint(p.Slots), fmt.Sprint(p.RunningSlots), fmt.Sprint(p.QueuedSlots), fmt.Sprint(p.OpenSlots()), p.Description}
	}
	if pools == nil {
		pools = []*store.Pool{}
	}
	return out.print(pools, []string{"POOL", "SLOTS", "RUNNING", "QUEUED", "OPEN", "DESCRIPTION"}, rows)
}

// withPrinterStore makes the command's printer and opens its store.
func withPrinterStore(c *cli.Context, fn func(out *printer, s store.Store) error) error {
	out, err := newPrinter(c)
	if err != nil {
		return err
	}
	return withStore(c, func(s store.Store) error { return fn(out, s) })
}

// maxImportBytes bounds an import file.
const maxImportBytes = 64 << 20

// readInput reads an import file, or standard input for "-".
func readInput(name string) ([]byte, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = readAllLimited(os.Stdin)
	} else {
		var f *os.File
		if f, err = os.Open(name); err == nil {
			data, err = readAllLimited(f)
			f.Close()
		}
	}
	if err != nil {
		return nil, failedError("%v", err)
	}
	return data, nil
}

func readAllLimited(f *os.File) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
	if err == nil && len(data) > maxImportBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", f.Name(), maxImportBytes>>20)
	}
	return data, err
}

// writeOutput writes v as indented JSON to the file name (- for standard
// output) with the given mode, and says how many items it wrote.
func writeOutput(c *cli.Context, name string, v any, n int, what string, mode os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if name == "-" {
		_, err = c.App.Writer.Write(data)
		return err
	}
	if err := os.WriteFile(name, data, mode); err != nil {
		return failedError("%v", err)
	}
	fmt.Fprintf(c.App.Writer, "exported %d %s to %s\n", n, what, name)
	return nil
}
