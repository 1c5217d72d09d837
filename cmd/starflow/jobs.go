package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// jobsCommand is `starflow jobs check`, Airflow's `airflow jobs check`: a
// health check for a scheduler or worker container, which has no HTTP
// port to probe.
func jobsCommand() *cli.Command {
	return &cli.Command{
		Name:  "jobs",
		Usage: "check the scheduler and worker processes that report to the metadata database",
		Subcommands: []*cli.Command{{
			Name:  "check",
			Usage: "exit 0 when a scheduler or worker (of this host with --local) heartbeated within --stale, else 1",
			Description: "As `airflow jobs check`: for a docker-compose or Kubernetes health check of a scheduler or worker,\n" +
				"e.g. `starflow jobs check --job-type scheduler --local`.",
			Flags: []cli.Flag{
				databaseURLFlag(),
				&cli.StringFlag{Name: "job-type", Usage: "scheduler or worker (SchedulerJob is accepted too)", Required: true},
				&cli.StringFlag{Name: "hostname", Usage: "only jobs of this host"},
				&cli.BoolFlag{Name: "local", Usage: "only jobs of this host (its hostname)"},
				&cli.IntFlag{Name: "limit", Value: 1, Usage: "the number of alive jobs to look for"},
				&cli.BoolFlag{Name: "allow-multiple", Usage: "succeed when more than --limit jobs are alive"},
				&cli.DurationFlag{Name: "stale", Value: defaultWorkerStale, Usage: "a job silent for longer is not alive (six default heartbeats)"},
			},
			Action: runJobsCheck,
		}},
	}
}

// aliveJob is one process's last heartbeat.
type aliveJob struct {
	host string
	last time.Time
}

func runJobsCheck(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageError("jobs check takes no arguments, got %d", c.NArg())
	}
	host := c.String("hostname")
	if c.Bool("local") {
		if host != "" {
			return usageError("give --hostname or --local, not both")
		}
		var err error
		if host, err = os.Hostname(); err != nil {
			return internalError(fmt.Errorf("--local: %w", err))
		}
	}
	if c.Int("limit") < 1 || c.Duration("stale") <= 0 {
		return usageError("--limit must be at least 1 and --stale positive")
	}
	kind := c.String("job-type")
	return withStore(c, func(s store.Store) error {
		var jobs []aliveJob
		switch kind {
		case "scheduler", "SchedulerJob":
			beats, err := s.SchedulerHeartbeatList(c.Context)
			if err != nil {
				return err
			}
			for _, b := range beats {
				jobs = append(jobs, aliveJob{b.Hostname, b.LastHeartbeat})
			}
		case "worker", "WorkerJob":
			ws, err := s.WorkerList(c.Context)
			if err != nil {
				return err
			}
			for _, w := range ws {
				jobs = append(jobs, aliveJob{w.Hostname, w.LastHeartbeat})
			}
		default:
			return usageError("--job-type %q: want scheduler or worker", kind)
		}
		now, alive := time.Now(), 0
		for _, j := range jobs {
			if (host == "" || j.host == host) && now.Sub(j.last) <= c.Duration("stale") {
				alive++
			}
		}
		switch {
		case alive == 0:
			return failedError("No alive jobs found.")
		case alive > c.Int("limit") && !c.Bool("allow-multiple"):
			return failedError("Found %d alive jobs. Expected only %d.", alive, c.Int("limit"))
		case alive == 1:
			fmt.Fprintln(c.App.Writer, "Found one alive job.")
		default:
			fmt.Fprintf(c.App.Writer, "Found %d alive jobs.\n", alive)
		}
		return nil
	})
}

// healthCommand is `starflow health`: an HTTP probe of a webserver for
// images without curl.
func healthCommand() *cli.Command {
	return &cli.Command{
		Name:      "health",
		Usage:     "GET a webserver's readiness (or another) URL; exit 0 on 200, else 1",
		ArgsUsage: "[URL]",
		Description: "The docker-compose health check of the webserver: `starflow health http://127.0.0.1:8080/ready`.\n" +
			"The default URL is http://127.0.0.1:8080/ready.",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "give up after this long"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError("health takes at most one URL")
			}
			url := "http://127.0.0.1:8080/ready"
			if c.NArg() == 1 {
				url = c.Args().First()
			}
			ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return usageError("URL %q: %v", url, err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return failedError("GET %s: %v", url, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			c.App.Writer.Write(body)
			if resp.StatusCode != http.StatusOK {
				return failedError("GET %s: %s", url, resp.Status)
			}
			return nil
		},
	}
}
