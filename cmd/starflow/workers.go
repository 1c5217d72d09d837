package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// defaultWorkerStale is how long a worker may stay silent before `workers
// list` calls it silent: six default heartbeat intervals.
const defaultWorkerStale = 30 * time.Second

// listedWorker is a worker as `workers list --output json` prints it.
type listedWorker struct {
	*store.Worker
	// Status is "up", or "silent" once the worker missed heartbeats for
	// --stale (it died, or cannot reach the database).
	Status string `json:"status"`
}

// workersCommand is `starflow workers list`.
func workersCommand() *cli.Command {
	return &cli.Command{
		Name:  "workers",
		Usage: "inspect the workers of a distributed deployment",
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "list the workers that report to the metadata database: queues, running tasks, last heartbeat",
			Description: "Every `starflow worker` records itself at each heartbeat and removes itself when it stops\n" +
				"cleanly; one killed stays listed as silent with its last heartbeat.",
			Flags: []cli.Flag{
				databaseURLFlag(),
				outputFlag(),
				&cli.DurationFlag{Name: "stale", Value: defaultWorkerStale, Usage: "a worker silent for this long is shown as silent"},
			},
			Action: runWorkersList,
		}},
	}
}

func runWorkersList(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError("workers list takes no arguments, got %d", c.NArg())
	}
	out, err := newPrinter(c)
	if err != nil {
		return err
	}
	stale := c.Duration("stale")
	if stale <= 0 {
		return usageError("--stale must be positive, not %s", stale)
	}
	return withStore(c, func(s store.Store) error {
		ws, err := s.WorkerList(c.Context)
		if err != nil {
			return err
		}
		now := time.Now()
		listed := make([]listedWorker, len(ws))
		rows := make([][]string, len(ws))
		for i, w := range ws {
			status := "up"
			if now.Sub(w.LastHeartbeat) > stale {
				status = "silent"
			}
			listed[i] = listedWorker{Worker: w, Status: status}
			rows[i] = []string{w.Consumer, w.Hostname, strings.Join(w.Queues, ","), strconv.Itoa(w.Running) + "/" + strconv.Itoa(w.Slots),
				fmtTime(w.LastHeartbeat), ago(now, w.LastHeartbeat), status}
		}
		return out.print(listed, []string{"CONSUMER", "HOSTNAME", "QUEUES", "RUNNING", "LAST_HEARTBEAT", "AGO", "STATUS"}, rows)
	})
}

// ago says how long before now t was, rounded for people.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Minute).String()
	}
}
