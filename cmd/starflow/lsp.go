package main

import (
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/editor/lsp"
	"github.com/starflow-dev/starflow/starlark/lint"
)

// lspCommand is `starflow lsp`: the language server for .star DAG files
// over stdio (editor/lsp).
func lspCommand() *cli.Command {
	return &cli.Command{
		Name:      "lsp",
		Usage:     "run the language server for .star DAG files over stdin/stdout (editors start it)",
		UsageText: "starflow lsp\n   starflow lsp --dags examples",
		Description: "Speaks the Language Server Protocol on stdin and stdout: diagnostics as you type (the findings of\n" +
			"`starflow lint`, with their rules), completion, hover, signature help, go-to-definition and document\n" +
			"symbols. Editors start it themselves: see docs/editors.md. Logs go to stderr.",
		Flags: []cli.Flag{
			dagsFolderFlag(),
			&cli.StringSliceFlag{Name: "disable", Usage: "warning rule ids not to report"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("lsp takes no arguments, got %d", c.NArg())
			}
			opts := lint.Options{Disabled: c.StringSlice("disable")}
			if err := opts.Validate(); err != nil {
				return usageError("%v", err)
			}
			logger := newLogger(c)
			var in io.Reader = os.Stdin
			if c.App.Reader != nil {
				in = c.App.Reader
			}
			l := newLoader(logger)
			defer l.Close()
			srv := lsp.New(lsp.Options{
				Loader: l, Operators: newRegistry().Specs(), DAGsFolder: c.String("dags"),
				Lint: opts, Logger: logger, Version: buildVersion().Starflow,
			})
			if err := srv.Serve(c.Context, in, c.App.Writer); err != nil {
				return internalError(err)
			}
			return nil
		},
	}
}
