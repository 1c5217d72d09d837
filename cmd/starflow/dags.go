package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/dags/dagviz"
	"github.com/starflow-dev/starflow/starlark/loader"
)

func dagsCommand() *cli.Command {
	return &cli.Command{
		Name:  "dags",
		Usage: "list, draw and inspect DAGs",
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "draw a DAG's graph",
				ArgsUsage: "DAG_ID|FILE",
				UsageText: "starflow dags show etl\n   starflow dags show dags/etl.star --format mermaid\n   starflow dags show etl --save etl.svg",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "dag", Usage: "the DAG id, when the file defines several"},
					&cli.StringFlag{Name: "format", Value: "text", Usage: "text (a drawing for the terminal), dot or mermaid"},
					&cli.StringFlag{Name: "save", Usage: "render to an image file (.svg, .png, .pdf) with Graphviz's dot"},
					dagsFolderFlag(),
				},
				Action: runDagsShow,
			},
			{
				Name:   "list",
				Usage:  "list the DAGs of the DAG folder",
				Flags:  []cli.Flag{dagsFolderFlag(), outputFlag()},
				Action: runDagsList,
			},
			{
				Name:   "list-import-errors",
				Usage:  "list the DAG files that failed to load; exit 1 when there is any",
				Flags:  []cli.Flag{dagsFolderFlag()},
				Action: runDagsListImportErrors,
			},
			withCPUProfile(testDAGCommandNamed("test")),
			dagsListRunsCommand(),
			dagsDetailsCommand(),
			dagsNextExecutionCommand(),
			dagsStateCommand(),
			dagsReportCommand(),
			dagsSLAMissesCommand(),
			dagsTriggerCommand(),
			dagsPauseCommand(true),
			dagsPauseCommand(false),
			dagsReserializeCommand(),
			dagsDeleteCommand(),
			dagsBackfillCommand(),
		},
	}
}

func runDagsShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("dags show takes one DAG id or file, got %d arguments", c.NArg())
	}
	path, dagID, err := dagFileArg(c, c.Args().First())
	if err != nil {
		return err
	}
	l := newLoader(newLogger(c))
	defer l.Close()
	f, err := loadDAGFile(c.Context, l, c.String("dags"), path)
	if err != nil {
		return err
	}
	d, err := pickDAG(f, dagID)
	if err != nil {
		return err
	}
	if save := c.String("save"); save != "" {
		return saveGraph(d, save)
	}
	switch c.String("format") {
	case "text":
		fmt.Fprintf(c.App.Writer, "%s  schedule %s, %d tasks\n\n", d.ID, d.Schedule, d.Len())
		err = dagviz.Text(c.App.Writer, d, nil)
	case "dot":
		err = dagviz.DOT(c.App.Writer, d, nil)
	case "mermaid":
		err = dagviz.Mermaid(c.App.Writer, d, nil)
	default:
		return usageError("--format must be text, dot or mermaid, not %q", c.String("format"))
	}
	if err != nil {
		return internalError(err)
	}
	return nil
}

// saveGraph renders the DAG to an image with Graphviz, as `airflow dags
// show --save` does.
func saveGraph(d *dags.DAG, path string) error {
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	switch format {
	case "svg", "png", "pdf", "jpg":
	default:
		return usageError("--save needs a .svg, .png, .pdf or .jpg file name, not %q", path)
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		return failedError("--save needs Graphviz's dot (apt-get install graphviz); use --format dot to print the source instead")
	}
	var src strings.Builder
	if err := dagviz.DOT(&src, d, nil); err != nil {
		return internalError(err)
	}
	cmd := exec.Command(dot, "-T"+format, "-o", path)
	cmd.Stdin = strings.NewReader(src.String())
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return failedError("dot failed: %v", err)
	}
	return nil
}

// loadFolder loads the DAG folder once.
func loadFolder(c *cli.Context) (*loader.Bag, error) {
	dir := c.String("dags")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, usageError("DAG folder %s is not a folder (set --dags or STARFLOW_DAGS_FOLDER)", dir)
	}
	l := newLoader(newLogger(c))
	defer l.Close() // the bag is only read after its one refresh
	bag := loader.NewBag(l, loader.DirSource(filepath.Clean(dir)))
	if _, err := bag.Refresh(c.Context); err != nil {
		return nil, internalError(err)
	}
	return bag, nil
}

func runDagsList(c *cli.Context) error {
	p, err := newPrinter(c)
	if err != nil {
		return err
	}
	bag, err := loadFolder(c)
	if err != nil {
		return err
	}
	// The fields of Airflow's `dags list -o json` that a DAG file holds.
	type dagRow struct {
		DagID       string   `json:"dag_id"`
		Fileloc     string   `json:"fileloc"`
		Schedule    string   `json:"schedule"`
		Tasks       int      `json:"tasks"`
		Tags        []string `json:"tags"`
		DisplayName string   `json:"dag_display_name"`
	}
	list := []dagRow{}
	var rows [][]string
	for _, d := range bag.DAGs() {
		r := dagRow{DagID: d.ID, Fileloc: d.File, Schedule: d.Schedule.String(), Tasks: d.Len(), Tags: d.Tags, DisplayName: d.Label()}
		if r.Tags == nil {
			r.Tags = []string{}
		}
		list = append(list, r)
		rows = append(rows, []string{r.DagID, r.Fileloc, r.Schedule, strconv.Itoa(r.Tasks), strings.Join(r.Tags, ","), r.DisplayName})
	}
	if err := p.print(list, []string{"DAG_ID", "FILE", "SCHEDULE", "TASKS", "TAGS", "DISPLAY_NAME"}, rows); err != nil {
		return internalError(err)
	}
	if n := len(bag.Findings()); n > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%d import errors: see starflow dags list-import-errors\n", n)
	}
	return nil
}

func runDagsListImportErrors(c *cli.Context) error {
	bag, err := loadFolder(c)
	if err != nil {
		return err
	}
	findings := bag.Findings()
	for _, f := range findings {
		fmt.Fprintln(c.App.Writer, f.Error())
	}
	if len(findings) > 0 {
		return cli.Exit("", exitFailed)
	}
	return nil
}
