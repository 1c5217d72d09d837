package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// configStateKey is where the App's Metadata keeps the configState.
const configStateKey = "config"

// configState is what run() read before parsing the command line: the
// configuration file (nil: none) and the environment variables it set.
type configState struct {
	file     *configFile
	injected map[string]bool
}

// loadConfigState finds and reads the configuration file named by a
// leading --config flag, $STARFLOW_CONFIG or ./starflow.yaml, and exports
// its values as the environment variables not already set.
func loadConfigState(args []string) (*configState, error) {
	flagValue := ""
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break // the command: --config must come before it
		}
		if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "config="); ok {
			flagValue = v
		} else if strings.TrimLeft(a, "-") == "config" && i+1 < len(args) {
			flagValue = args[i+1]
			i++
		}
	}
	path, _ := findConfigFile(flagValue, os.LookupEnv)
	cs := &configState{injected: map[string]bool{}}
	if path == "" {
		return cs, nil
	}
	f, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	cs.file = f
	if cs.injected, err = applyConfigFile(f); err != nil {
		return nil, err
	}
	return cs, nil
}

// appConfigState returns the configState run() read ("none" in tests that
// build the App themselves).
func appConfigState(c *cli.Context) *configState {
	if cs, ok := c.App.Metadata[configStateKey].(*configState); ok {
		return cs
	}
	return &configState{injected: map[string]bool{}}
}

// userEnv looks a variable up as the user set it: not one the
// configuration file exported.
func (cs *configState) userEnv(name string) (string, bool) {
	if cs.injected[name] {
		return "", false
	}
	return os.LookupEnv(name)
}

// configFlags are the flags of `config list|get|init`: one per key with a
// flag, reading no environment variable (the listing tells them apart).
func configFlags() []cli.Flag {
	var fs []cli.Flag
	for _, k := range configKeys() {
		if k.Flag != "" {
			fs = append(fs, &cli.StringFlag{Name: k.Flag, Usage: "as if given to a command: " + k.Name})
		}
	}
	return fs
}

// effectiveConfig resolves every key for a config command.
func effectiveConfig(c *cli.Context) []setting {
	cs := appConfigState(c)
	flags := map[string]string{}
	for _, k := range configKeys() {
		if k.Flag != "" && c.IsSet(k.Flag) {
			flags[k.Name] = c.String(k.Flag)
		}
	}
	return resolveConfig(flags, cs.userEnv, cs.file)
}

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "show and write the configuration (starflow.yaml, STARFLOW_* variables, flags)",
		Description: "Every setting is a key of starflow.yaml (in the working directory, or the file $STARFLOW_CONFIG\n" +
			"or --config names), a STARFLOW_* environment variable and a flag. A flag wins over the variable,\n" +
			"the variable over the file, the file over the default. Secrets are never printed.",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "show every setting's effective value and where it came from (flag, env, file, default)",
				UsageText: "starflow config list\n   starflow config list -o json",
				Flags:     append([]cli.Flag{outputFlag()}, configFlags()...),
				Action: func(c *cli.Context) error {
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					settings := effectiveConfig(c)
					rows := make([][]string, len(settings))
					for i := range settings {
						k, _ := findConfigKey(settings[i].Key)
						settings[i].Value = k.shown(settings[i].Value)
						rows[i] = []string{settings[i].Key, settings[i].Value, string(settings[i].Source), settings[i].Env, settings[i].Flag}
					}
					if !out.json {
						if cs := appConfigState(c); cs.file != nil {
							fmt.Fprintf(out.w, "# file: %s\n", cs.file.Path)
						} else {
							fmt.Fprintf(out.w, "# file: none (starflow config init writes %s)\n", defaultConfigFile)
						}
					}
					return out.print(settings, []string{"KEY", "VALUE", "SOURCE", "ENV", "FLAG"}, rows)
				},
			},
			{
				Name:      "get",
				Usage:     "print one setting's effective value (a secret prints as <set>); exit 2 for an unknown key",
				ArgsUsage: "KEY",
				UsageText: "starflow config get dags_folder\n   starflow config get database_url -o json",
				Flags:     append([]cli.Flag{outputFlag()}, configFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("config get takes one key, got %d arguments", c.NArg())
					}
					k, ok := findConfigKey(c.Args().First())
					if !ok {
						return usageError("unknown configuration key %q%s (see starflow config list)", c.Args().First(), didYouMean(c.Args().First(), configKeyNames()))
					}
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					for _, s := range effectiveConfig(c) {
						if s.Key != k.Name {
							continue
						}
						s.Value = k.shown(s.Value)
						if out.json {
							return out.print(s, nil, nil)
						}
						_, err := fmt.Fprintln(out.w, s.Value)
						return err
					}
					return nil
				},
			},
			{
				Name:  "init",
				Usage: "write a configuration file with the effective values (flags given here, the environment, defaults)",
				UsageText: "starflow config init --dags examples\n" +
					"   starflow config init --dags dags --database-url postgres://starflow@db:5432/starflow --file /etc/starflow.yaml",
				Flags: append([]cli.Flag{
					&cli.StringFlag{Name: "file", Usage: "where to write (default: $STARFLOW_CONFIG, else starflow.yaml)"},
					&cli.BoolFlag{Name: "force", Usage: "replace an existing file"},
				}, configFlags()...),
				Action: func(c *cli.Context) error {
					path := c.String("file")
					if path == "" {
						path = os.Getenv(envConfig)
					}
					if path == "" {
						path = defaultConfigFile
					}
					values := map[string]string{}
					comments := map[string]string{}
					for _, s := range effectiveConfig(c) {
						k, _ := findConfigKey(s.Key)
						switch {
						case k.Secret:
							if s.Value != "" {
								comments[s.Key] = "set by " + k.Env + "; never written here"
							}
						case s.Source != sourceDefault || s.Key == "dags_folder" || s.Key == "database_url":
							values[s.Key] = s.Value
						default:
							comments[s.Key] = s.Key + ": " + k.scalar(s.Value) + "   (the default)"
						}
					}
					if err := writeConfigFile(path, renderConfig(values, comments), c.Bool("force")); err != nil {
						return failedError("config init: %v", err)
					}
					fmt.Fprintf(c.App.Writer, "wrote %s: commands run in this folder use it (starflow config list shows the values)\n", path)
					return nil
				},
			},
		},
	}
}

// writeFirstConfig writes starflow.yaml with the values standalone used,
// when no configuration file was read: the other commands run in this
// folder then see the same DAG folder and database. A database URL with a
// password is not written (it stays in the environment).
func writeFirstConfig(c *cli.Context) {
	cs := appConfigState(c)
	if cs.file != nil || os.Getenv(envConfig) != "" {
		return
	}
	values := map[string]string{}
	comments := map[string]string{}
	for _, k := range configKeys() {
		if k.Flag == "" || !hasFlag(c.Command, k.Flag) {
			continue
		}
		always := k.Name == "dags_folder" || k.Name == "database_url" || k.Name == "webserver_host" || k.Name == "webserver_port"
		if !always && !c.IsSet(k.Flag) {
			continue
		}
		v := fmt.Sprint(c.Value(k.Flag))
		if k.URL && k.shown(v) != v {
			comments[k.Name] = "set in the environment: it holds a password, so it is not written here"
			continue
		}
		values[k.Name] = v
	}
	if f := os.Getenv(envSecretKeyFile); f != "" {
		values["secret_key_file"] = f
	}
	if err := writeConfigFile(defaultConfigFile, renderConfig(values, comments), false); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "starflow: could not write %s: %v\n", defaultConfigFile, err)
		return
	}
	fmt.Fprintf(c.App.ErrWriter, "starflow: wrote %s with these settings: starflow commands run in this folder use the same DAG folder and database\n", defaultConfigFile)
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// secretKeyFileFlag names the key file; commands that open the metadata
// database get it.
func secretKeyFileFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "secret-key-file", Usage: "the key that encrypts secrets at rest (default: starflow.key beside a SQLite database)",
		EnvVars: []string{envSecretKeyFile}, TakesFile: true}
}

// wireCommands gives every command that opens the metadata database the
// --secret-key-file flag, and every command an example in its help when
// it has none.
// isDaemon reports whether the command is a long-running one: those act
// for no one, so they take no --user.
func isDaemon(full string) bool {
	switch full {
	case "standalone", "scheduler", "worker", "webserver":
		return true
	}
	return false
}

func wireCommands(cmds []*cli.Command, parent string) {
	for _, cmd := range cmds {
		full := strings.TrimSpace(parent + " " + cmd.Name)
		if len(cmd.Subcommands) > 0 {
			wireCommands(cmd.Subcommands, full)
			continue
		}
		// --user names the audit log's owner of a command's actions; the
		// daemons act for no one.
		if hasFlag(cmd, "database-url") && !hasFlag(cmd, "user") && !isDaemon(full) {
			cmd.Flags = append(cmd.Flags, userFlag())
		}
		if hasFlag(cmd, "database-url") && !hasFlag(cmd, "secret-key-file") {
			cmd.Flags = append(cmd.Flags, secretKeyFileFlag())
			action := cmd.Action
			cmd.Action = func(c *cli.Context) error {
				if c.IsSet("secret-key-file") {
					// The code that opens the key reads the variable.
					if err := os.Setenv(envSecretKeyFile, c.String("secret-key-file")); err != nil {
						return internalError(err)
					}
				}
				return action(c)
			}
		}
		if cmd.UsageText == "" {
			cmd.UsageText = exampleFor(full, cmd)
		}
	}
}

// exampleFor is a command's default usage line: its name and arguments.
func exampleFor(full string, cmd *cli.Command) string {
	text := "starflow " + full
	if cmd.ArgsUsage != "" {
		text += " " + cmd.ArgsUsage
	}
	if ex, ok := commandExamples()[full]; ok {
		text += "\n\nExample:\n   " + ex
	}
	return text
}

// commandExamples are the commands' examples shown in --help, by the
// command's full name.
func commandExamples() map[string]string {
	return map[string]string{
		"lint":                     "starflow lint dags/ --format github",
		"dags list":                "starflow dags list --dags examples",
		"dags list-import-errors":  "starflow dags list-import-errors",
		"dags list-runs":           "starflow dags list-runs etl --state failed -o json",
		"dags sla-misses":          "starflow dags sla-misses etl",
		"dags trigger":             "starflow dags trigger etl --conf '{\"target\": \"lake\"}'",
		"dags pause":               "starflow dags pause etl",
		"dags unpause":             "starflow dags unpause etl",
		"dags reserialize":         "starflow dags reserialize --dags dags",
		"dags backfill":            "starflow dags backfill etl --start-date 2024-01-01 --end-date 2024-01-07",
		"tasks test":               "starflow tasks test etl extract --date 2024-01-15",
		"tasks states-for-dag-run": "starflow tasks states-for-dag-run etl scheduled__2024-01-15T00:00:00+00:00",
		"tasks clear":              "starflow tasks clear etl --task-regex '^load' --only-failed --yes",
		"tasks mark-success":       "starflow tasks mark-success etl scheduled__2024-01-15T00:00:00+00:00 load",
		"tasks mark-failed":        "starflow tasks mark-failed etl scheduled__2024-01-15T00:00:00+00:00 load",
		"db migrate":               "starflow db migrate --database-url postgres://starflow@db:5432/starflow",
		"db check":                 "starflow db check",
		"db clean":                 "starflow db clean --older-than 90d --dry-run",
		"variables get":            "starflow variables get region --default eu-west-1",
		"variables set":            "starflow variables set region eu-west-1\n   starflow variables set api_token - --secret < token.txt",
		"variables list":           "starflow variables list -o yaml",
		"variables delete":         "starflow variables delete region",
		"connections add":          "starflow connections add warehouse --conn-uri postgres://etl:secret@db:5432/dw",
		"connections get":          "starflow connections get warehouse -o json",
		"connections list":         "starflow connections list",
		"connections delete":       "starflow connections delete warehouse",
		"standalone":               "starflow standalone --dags examples --port 8080",
		"scheduler":                "STARFLOW_DATABASE_URL=postgres://... STARFLOW_REDIS_URL=redis://redis:6379/0 starflow scheduler --dags /dags",
		"worker":                   "starflow worker --redis-url redis://redis:6379/0 --queues default,heavy --concurrency 16",
		"workers list":             "starflow workers list -o json",
		"jobs check":               "starflow jobs check --job-type scheduler --local",
		"health":                   "starflow health http://127.0.0.1:8080/ready",
		"webserver":                "starflow webserver --host 0.0.0.0 --port 8080",
		"users create":             "starflow users create alice --role op --generate-password",
		"users list":               "starflow users list -o json",
		"users set-role":           "starflow users set-role alice --role viewer",
		"users delete":             "starflow users delete alice",
		"tokens create":            "starflow tokens create --name ci --user alice",
		"tokens list":              "starflow tokens list",
	}
}

// unknownCommand returns the message for a command line naming a command
// that does not exist ("" when it names one), with the closest name.
func unknownCommand(app *cli.App, args []string) string {
	for _, a := range args {
		if a == "--generate-bash-completion" {
			return ""
		}
	}
	cmds := app.Commands
	path := []string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if len(path) == 0 && (a == "--config" || a == "-config") {
				i++ // its value
				continue
			}
			if len(path) == 0 {
				continue
			}
			return ""
		}
		if a == "help" || a == "h" {
			return ""
		}
		next := findCommand(cmds, a)
		if next == nil {
			var names []string
			for _, c := range cmds {
				if !c.Hidden {
					names = append(names, c.Name)
				}
			}
			where := strings.Join(append(append([]string{"starflow"}, path...), "--help"), " ")
			full := strings.Join(append(append([]string{}, path...), a), " ")
			if best := closest(a, names); best != "" {
				return fmt.Sprintf("unknown command %q; did you mean %q? (see %s)", full, strings.Join(append(append([]string{}, path...), best), " "), where)
			}
			return fmt.Sprintf("unknown command %q (see %s)", full, where)
		}
		path = append(path, next.Name)
		if len(next.Subcommands) == 0 {
			return ""
		}
		cmds = next.Subcommands
	}
	return ""
}
