package main

import (
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/lint"
	"github.com/starflow-dev/starflow/starlark/loader"
)

func lintCommand() *cli.Command {
	return &cli.Command{
		Name:      "lint",
		Usage:     "parse and check DAG files: errors and warnings with file:line:col",
		ArgsUsage: "[PATH…]",
		Description: "Checks DAG files and folders (default: the DAG folder). Prints one line per finding,\n" +
			"file:line:col: severity: message [rule]. Exit 0 when clean, 1 on any finding, 2 on bad usage.\n" +
			"Silence a warning on one line with a comment `# starflow: disable=rule-id`.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or github (GitHub Actions annotations)"},
			&cli.StringSliceFlag{Name: "disable", Usage: "warning rule ids not to report"},
			dagsFolderFlag(),
		},
		Action: runLint,
	}
}

func runLint(c *cli.Context) error {
	write := map[string]func(io.Writer, []lint.Finding) error{
		"text":   lint.WriteText,
		"json":   lint.WriteJSON,
		"github": lint.WriteGitHub,
	}[c.String("format")]
	if write == nil {
		return usageError("--format must be text, json or github, not %q", c.String("format"))
	}
	opts := lint.Options{Disabled: c.StringSlice("disable")}
	if err := opts.Validate(); err != nil {
		return usageError("%v", err)
	}
	paths := c.Args().Slice()
	if len(paths) == 0 {
		paths = []string{c.String("dags")}
	}
	l := newLoader(newLogger(c))
	defer l.Close()
	var findings []lint.Finding
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return usageError("%v", err)
		}
		var files []lint.File
		if fi.IsDir() {
			files, err = lintFolder(c, l, p)
			if err != nil {
				return internalError(err)
			}
		} else {
			f := l.LoadPath(c.Context, c.String("dags"), p)
			files = []lint.File{lintFile(f, f.Errors)}
		}
		for _, f := range files {
			findings = append(findings, lint.Check(f, opts)...)
		}
	}
	lint.Sort(findings)
	if err := write(c.App.Writer, findings); err != nil {
		return internalError(err)
	}
	if code := lint.ExitCode(findings); code != exitOK {
		return cli.Exit("", code)
	}
	return nil
}

// lintFolder loads every DAG file of a folder, in parallel, with the
// folder as the root of load() paths; findings that span files (duplicate
// DAG ids) go with the file they point at.
func lintFolder(c *cli.Context, l *loader.Loader, dir string) ([]lint.File, error) {
	bag := loader.NewBag(l, loader.DirSource(filepath.Clean(dir)))
	if _, err := bag.Refresh(c.Context); err != nil {
		return nil, err
	}
	byFile := map[string][]dags.Finding{}
	for _, f := range bag.Findings() {
		byFile[f.Pos.File] = append(byFile[f.Pos.File], f)
	}
	var out []lint.File
	for _, f := range bag.Files() {
		out = append(out, lintFile(f, byFile[f.Name]))
	}
	return out, nil
}

func lintFile(f *loader.File, errs []dags.Finding) lint.File {
	return lint.File{Path: f.Name, Source: []byte(f.Sources[f.Path]), DAGs: f.DAGs, Errors: errs}
}
