package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/migrations"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/store/sqlite"
)

// versionInfo is what `starflow version` prints.
type versionInfo struct {
	Starflow string `json:"starflow"`
	Commit   string `json:"commit,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Schema   int64  `json:"schema"`
}

// buildVersion reads the version from the build: the module's version,
// else the VCS revision go build recorded, else "devel".
func buildVersion() versionInfo {
	v := versionInfo{Starflow: "devel", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if vs, err := migrations.Versions(migrations.SQLite); err == nil && len(vs) > 0 {
		v.Schema = slices.Max(vs)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.Starflow = mv
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
			if len(v.Commit) > 12 {
				v.Commit = v.Commit[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v.Commit != "" && dirty {
		v.Commit += "-dirty"
	}
	if v.Starflow == "devel" && v.Commit != "" {
		v.Starflow = "devel+" + v.Commit
	}
	return v
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print Starflow's version (also --version); -o json adds the Go version, platform and schema",
		UsageText: "starflow version\n   starflow --version\n   starflow version -o json",
		Flags:     []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			v := buildVersion()
			if out.json {
				return out.print(v, nil, nil)
			}
			_, err = fmt.Fprintln(out.w, v.Starflow)
			return err
		},
	}
}

// infoReport is what `starflow info` prints: no secret, only whether and
// where one is set.
type infoReport struct {
	Version     versionInfo `json:"version"`
	ConfigFile  string      `json:"config_file"`
	DagsFolder  string      `json:"dags_folder"`
	DagFiles    int         `json:"dag_files"`
	Database    string      `json:"database"`
	DatabaseOK  string      `json:"database_status"`
	Queue       string      `json:"queue"`
	KeySource   string      `json:"secret_key"`
	LogFolder   string      `json:"log_folder"`
	Webserver   string      `json:"webserver"`
	Parallelism string      `json:"parallelism"`
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "show versions, paths, the database, the queue and where the secret key comes from (never a secret)",
		UsageText: "starflow info\n   starflow info -o json",
		Flags:     []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			cs := appConfigState(c)
			get := map[string]setting{}
			for _, s := range resolveConfig(nil, os.LookupEnv, cs.file) {
				get[s.Key] = s
			}
			r := infoReport{
				Version:     buildVersion(),
				ConfigFile:  "none",
				DagsFolder:  absPath(get["dags_folder"].Value),
				Database:    store.RedactURL(get["database_url"].Value),
				Queue:       "in-process (standalone)",
				LogFolder:   get["log_folder"].Value,
				Webserver:   get["webserver_host"].Value + ":" + get["webserver_port"].Value,
				Parallelism: get["parallelism"].Value,
			}
			if cs.file != nil {
				r.ConfigFile = absPath(cs.file.Path)
			}
			if r.LogFolder == "" {
				r.LogFolder = "none (task logs live in the database)"
			}
			if q := get["redis_url"].Value; q != "" {
				r.Queue = store.RedactURL(q)
			}
			if fi, err := os.Stat(r.DagsFolder); err != nil || !fi.IsDir() {
				r.DagFiles = -1
			} else {
				_ = filepath.WalkDir(r.DagsFolder, func(p string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() && filepath.Ext(p) == ".star" {
						r.DagFiles++
					}
					return nil
				})
			}
			switch {
			case get["secret_key"].Value != "":
				r.KeySource = "set by " + secrets.EnvKey
			default:
				kf := keyFileFor(get["database_url"].Value, get["secret_key_file"].Value)
				if _, err := os.Stat(kf); err == nil {
					r.KeySource = "file " + absPath(kf)
				} else {
					r.KeySource = "file " + absPath(kf) + " (not created yet)"
				}
			}
			r.DatabaseOK = databaseStatus(c, get["database_url"].Value)
			if out.json {
				return out.print(r, nil, nil)
			}
			files := fmt.Sprint(r.DagFiles, " .star files")
			if r.DagFiles < 0 {
				files = "missing"
			}
			rows := [][]string{
				{"starflow", r.Version.Starflow},
				{"go", r.Version.Go + " " + r.Version.Platform},
				{"schema version", fmt.Sprint(r.Version.Schema)},
				{"config file", r.ConfigFile},
				{"dags folder", r.DagsFolder + " (" + files + ")"},
				{"database", r.Database + " (" + r.DatabaseOK + ")"},
				{"queue", r.Queue},
				{"secret key", r.KeySource},
				{"log folder", r.LogFolder},
				{"webserver", r.Webserver},
				{"parallelism", r.Parallelism},
			}
			tw := tabwriter.NewWriter(out.w, 0, 4, 2, ' ', 0)
			for _, row := range rows {
				fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
			}
			return tw.Flush()
		},
	}
}

// databaseStatus says whether the database answers and its schema is
// current, without creating or migrating anything.
func databaseStatus(c *cli.Context, url string) string {
	if store.URLScheme(url) == "sqlite" {
		if p, err := sqlite.Path(url); err == nil && p != ":memory:" {
			if _, err := os.Stat(p); err != nil {
				return "not created yet"
			}
		}
	}
	s, err := openStoreMode(c.Context, url, store.MigrateNever)
	if err != nil {
		return "unreachable: " + err.Error()
	}
	defer s.Close()
	st, err := s.SchemaStatus(c.Context)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case st.UpToDate():
		return fmt.Sprintf("ok, schema %d", st.Current)
	}
	return fmt.Sprintf("schema %d, this binary needs %d", st.Current, st.Latest)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:  "completion",
		Usage: "print a shell completion script: bash, zsh or fish",
		UsageText: "starflow completion bash > /etc/bash_completion.d/starflow\n" +
			"   source <(starflow completion zsh)\n" +
			"   starflow completion fish > ~/.config/fish/completions/starflow.fish",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("completion takes one shell (bash, zsh or fish), got %d arguments", c.NArg())
			}
			var script string
			switch c.Args().First() {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return internalError(err)
				}
				script = s
			default:
				return usageError("completion: unknown shell %q: want bash, zsh or fish", c.Args().First())
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// bashCompletion asks starflow itself for the words (urfave/cli's
// --generate-bash-completion).
const bashCompletion = `# bash completion for starflow: source <(starflow completion bash)
_starflow_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local opts
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _starflow_complete starflow
`

// zshCompletion is bashCompletion for zsh.
const zshCompletion = `#compdef starflow
# zsh completion for starflow: source <(starflow completion zsh)
_starflow() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _starflow starflow
`
