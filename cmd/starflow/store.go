package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/store/sqlite"
)

// Environment variables of the metadata-store commands.
const (
	envSecretKeyFile = "STARFLOW_SECRET_KEY_FILE"
	defaultKeyFile   = "starflow.key"
)

// databaseURLFlag names the metadata database.
func databaseURLFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:    "database-url",
		Usage:   "metadata database: sqlite:///path/starflow.db, sqlite://:memory: or postgres://user:pass@host:5432/db",
		EnvVars: []string{store.EnvDatabaseURL},
		Value:   store.DefaultDatabaseURL,
	}
}

// outputFlag chooses between aligned tables, JSON and YAML.
func outputFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:    "output",
		Aliases: []string{"o"},
		Usage:   "table, json or yaml",
		EnvVars: []string{"STARFLOW_OUTPUT"},
		Value:   "table",
	}
}

// openStore opens the metadata database named by url (the default SQLite
// file when empty), choosing the implementation by the URL's scheme. An
// empty database is migrated; an older or newer schema is refused.
// Secrets use STARFLOW_SECRET_KEY, or the key file named by
// STARFLOW_SECRET_KEY_FILE (default: starflow.key beside a SQLite file,
// else in the working directory), created on first use.
func openStore(ctx context.Context, url string) (store.Store, error) {
	return openStoreMode(ctx, url, store.MigrateAuto)
}

func openStoreMode(ctx context.Context, url string, mode store.MigrateMode) (store.Store, error) {
	if url == "" {
		url = store.DefaultDatabaseURL
	}
	opts := store.Options{Migrate: mode, Secrets: &secrets.Keyring{Key: os.Getenv(secrets.EnvKey), File: keyFile(url)}}
	switch store.URLScheme(url) {
	case "sqlite":
		return sqlite.Open(ctx, url, opts)
	case "postgres", "postgresql":
		return postgres.Open(ctx, url, opts)
	}
	return nil, fmt.Errorf("database URL %s: unknown scheme (known: sqlite://, postgres://): %w", store.RedactURL(url), store.ErrInvalid)
}

// keyFile returns where the secret key file lives for a database URL.
func keyFile(url string) string { return keyFileFor(url, os.Getenv(envSecretKeyFile)) }

// keyFileFor returns the key file named (when not empty), else the
// default for a database URL: starflow.key beside a SQLite file, else in
// the working directory.
func keyFileFor(url, named string) string {
	if named != "" {
		return named
	}
	if url == "" {
		url = store.DefaultDatabaseURL
	}
	if store.URLScheme(url) == "sqlite" {
		if p, err := sqlite.Path(url); err == nil && p != ":memory:" {
			return filepath.Join(filepath.Dir(p), defaultKeyFile)
		}
	}
	return defaultKeyFile
}

// logFolderFlag is --log-folder, where task logs go.
func logFolderFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "log-folder", Aliases: []string{"log-dir"},
		Usage:   "the folder of task logs, one file per try (default: logs beside the SQLite database, else ./logs); workers and webservers on several hosts must share it (docs/logs.md)",
		EnvVars: []string{"STARFLOW_LOG_FOLDER", "STARFLOW_LOG_DIR"}}
}

// logFolder is the command's log folder: --log-folder, else "logs" beside
// a SQLite database file, else ./logs (as Airflow's $AIRFLOW_HOME/logs).
func logFolder(c *cli.Context, databaseURL string) string {
	if dir := c.String("log-folder"); dir != "" {
		return dir
	}
	return defaultLogFolder(databaseURL)
}

// defaultLogFolder is "logs" beside a SQLite database file, else ./logs.
func defaultLogFolder(databaseURL string) string {
	if store.URLScheme(databaseURL) == "sqlite" {
		if p, err := sqlite.Path(databaseURL); err == nil && p != ":memory:" {
			return filepath.Join(filepath.Dir(p), "logs")
		}
	}
	return "logs"
}

// deploymentSecrets returns what task logs must never show of this
// process's configuration: the passwords of the database and Redis URLs
// (as written and URL-decoded, and a password= query parameter) and the
// secret key, from STARFLOW_SECRET_KEY or the key file when it exists.
// Task processes do not inherit them (operators/subprocess), but a task
// could still find them, say in a file it can read.
func deploymentSecrets(databaseURL, redisURL string) []string {
	var out []string
	for _, raw := range []string{databaseURL, redisURL} {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
			if esc := url.PathEscape(pw); esc != pw {
				out = append(out, esc)
			}
			if esc := url.QueryEscape(pw); esc != pw {
				out = append(out, esc)
			}
		}
		if pw := u.Query().Get("password"); pw != "" {
			out = append(out, pw)
		}
	}
	if k := strings.TrimSpace(os.Getenv(secrets.EnvKey)); k != "" {
		out = append(out, k)
	} else if b, err := os.ReadFile(keyFile(databaseURL)); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// withStore opens the store named by the command's --database-url and
// runs fn with it.
func withStore(c *cli.Context, fn func(s store.Store) error) error {
	s, err := openStore(c.Context, c.String("database-url"))
	if err != nil {
		return storeError(err)
	}
	defer s.Close()
	return storeError(fn(s))
}

// storeError maps store errors to exit codes: bad input is a usage error
// (2), everything else that failed is 1.
func storeError(err error) error {
	var ec cli.ExitCoder
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ec):
		return err
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrTooLarge):
		return usageError("%v", err)
	}
	return failedError("%v", err)
}

// printer writes a command's output as an aligned table, JSON or YAML.
type printer struct {
	w io.Writer
	// json is set for both JSON and YAML: the structured forms.
	json, yaml bool
}

func newPrinter(c *cli.Context) (*printer, error) {
	switch o := c.String("output"); o {
	case "table", "":
		return &printer{w: c.App.Writer}, nil
	case "json":
		return &printer{w: c.App.Writer, json: true}, nil
	case "yaml":
		return &printer{w: c.App.Writer, json: true, yaml: true}, nil
	default:
		return nil, usageError("--output %q: want table, json or yaml", o)
	}
}

// print writes v as indented JSON or as YAML (with the same field names),
// or header and rows as a table.
func (p *printer) print(v any, header []string, rows [][]string) error {
	if p.yaml {
		return writeYAML(p.w, v)
	}
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// writeYAML writes v as YAML with the field names and order of its JSON
// form.
func writeYAML(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle drops the flow style and quotes JSON gave the nodes (an
// empty list or map stays [] or {}).
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode || len(n.Content) > 0 {
		n.Style = 0 // the encoder quotes a string that needs it
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// fmtTime formats a time for tables; "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// dagsListRunsCommand is `starflow dags list-runs DAG`.
func dagsListRunsCommand() *cli.Command {
	return &cli.Command{
		Name:      "list-runs",
		Usage:     "list the runs of a DAG, newest first",
		ArgsUsage: "DAG_ID",
		Flags: []cli.Flag{
			databaseURLFlag(),
			outputFlag(),
			&cli.StringSliceFlag{Name: "state", Usage: "only runs in this state (queued, running, success, failed); repeatable"},
			&cli.IntFlag{Name: "limit", Value: 100, Usage: "at most this many runs (0: all)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags list-runs takes one DAG id, got %d arguments", c.NArg())
			}
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			p := &store.RunListParams{DagID: c.Args().First(), Limit: c.Int("limit")}
			for _, st := range c.StringSlice("state") {
				if !dags.DagRunState(st).Valid() {
					return usageError("--state %q: want queued, running, success or failed", st)
				}
				p.States = append(p.States, dags.DagRunState(st))
			}
			return withStore(c, func(s store.Store) error {
				runs, err := s.RunList(c.Context, p)
				if err != nil {
					return err
				}
				if len(runs) == 0 {
					// No run: an unknown DAG is an error, not an empty table.
					if _, err := dagFromStore(c, s, p.DagID); err != nil {
						return err
					}
				}
				rows := make([][]string, len(runs))
				for i, r := range runs {
					rows[i] = []string{r.DagID, r.RunID, string(r.State), string(r.RunType), fmtTime(r.LogicalDate), fmtTime(r.StartDate), fmtTime(r.EndDate)}
				}
				if runs == nil {
					runs = []*store.DagRun{}
				}
				return out.print(runs, []string{"DAG_ID", "RUN_ID", "STATE", "RUN_TYPE", "LOGICAL_DATE", "START_DATE", "END_DATE"}, rows)
			})
		},
	}
}

// tasksStatesForDagRunCommand is `starflow tasks states-for-dag-run DAG RUN_ID`.
func tasksStatesForDagRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "states-for-dag-run",
		Usage:     "show the state of every task instance of a DAG run",
		ArgsUsage: "DAG_ID RUN_ID",
		Flags:     []cli.Flag{databaseURLFlag(), outputFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("tasks states-for-dag-run takes a DAG id and a run id, got %d arguments", c.NArg())
			}
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			dagID, runID := c.Args().Get(0), c.Args().Get(1)
			return withStore(c, func(s store.Store) error {
				run, err := s.RunGet(c.Context, dagID, runID)
				if err != nil && !errors.Is(err, store.ErrCorrupt) {
					return err
				}
				tis, err := s.TaskInstanceList(c.Context, &store.TaskInstanceListParams{DagID: dagID, RunID: runID})
				if err != nil {
					return err
				}
				dag := runDAG(c, s, run)
				rows := make([][]string, len(tis))
				list := make([]taskInstanceRow, len(tis))
				for i, ti := range tis {
					dur := ""
					if ti.Duration > 0 || !ti.EndDate.IsZero() && !ti.StartDate.IsZero() {
						dur = ti.Duration.String()
					}
					list[i] = taskInstanceRow{TaskInstance: ti, TaskDisplayName: dag.TaskLabel(ti.TaskID)}
					rows[i] = []string{ti.TaskID, fmt.Sprint(ti.MapIndex), string(ti.State), fmt.Sprint(ti.TryNumber),
						fmtTime(ti.StartDate), fmtTime(ti.EndDate), dur, list[i].TaskDisplayName}
				}
				return out.print(list, []string{"TASK_ID", "MAP_INDEX", "STATE", "TRY_NUMBER", "START_DATE", "END_DATE", "DURATION", "TASK_DISPLAY_NAME"}, rows)
			})
		},
	}
}

// taskInstanceRow is a task instance as listings print it: its stored
// fields and its task's display name.
type taskInstanceRow struct {
	*store.TaskInstance
	// TaskDisplayName is the task's task_display_name in the version the
	// run ran, its id when unset (Airflow 3's task_display_name).
	TaskDisplayName string `json:"task_display_name"`
}

// runDAG returns the DAG version run ran, parsed from the store's copy of
// its sources, or nil (task ids then stand for display names) when there
// is no run or the version cannot be built.
func runDAG(c *cli.Context, s store.Store, run *store.DagRun) *dags.DAG {
	if run == nil {
		return nil
	}
	hash := run.SourceHash
	if hash == "" {
		d, err := s.DAGGet(c.Context, run.DagID)
		if err != nil {
			return nil
		}
		hash = d.SourceHash
	}
	logger := newLogger(c)
	l := newLoader(logger)
	defer l.Close()
	dag, err := storeVersions(s, l, "dags").DAG(c.Context, run.DagID, hash)
	if err != nil {
		logger.Warn("build DAG version for display names", "dag", run.DagID, "err", err)
		return nil
	}
	return dag
}
