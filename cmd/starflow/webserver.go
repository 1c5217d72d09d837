package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/web"
)

// webFlags configure the webserver of `webserver` and `standalone`.
func webFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "host", Usage: "the webserver's address to listen on", EnvVars: []string{"STARFLOW_WEBSERVER_HOST"}, Value: "127.0.0.1"},
		&cli.IntFlag{Name: "port", Usage: "the webserver's port (0: any free port, logged)", EnvVars: []string{"STARFLOW_WEBSERVER_PORT"}, Value: 8080},
		&cli.BoolFlag{Name: "public-metrics", Usage: "serve /metrics without a token (for a Prometheus on a trusted network)", EnvVars: []string{"STARFLOW_PUBLIC_METRICS"}},
		&cli.BoolFlag{Name: "secure-cookies", Usage: "mark session cookies Secure although served over plain HTTP (behind a TLS proxy)", EnvVars: []string{"STARFLOW_SECURE_COOKIES"}},
	}
}

func webserverCommand() *cli.Command {
	return &cli.Command{
		Name:  "webserver",
		Usage: "serve the web UI and the REST API (/api/v1, /health, /metrics)",
		Description: "Reads and acts through the metadata database; with --redis-url it also reports the queue's depth.\n" +
			"Create users with `starflow users create NAME --role admin|op|viewer` and API tokens with\n" +
			"`starflow tokens create --name N --user U`.",
		Flags: append([]cli.Flag{databaseURLFlag(), redisURLFlag(), logFolderFlag()}, webFlags()...),
		Action: func(c *cli.Context) error {
			return runDaemon(c, engineConfig{
				databaseURL: c.String("database-url"),
				redisURL:    c.String("redis-url"),
				dagsDir:     "dags",
			}.withWeb(c, false))
		},
	}
}

// withWeb turns on the webserver with the command's web flags; bootstrap
// creates the first admin user when there is none (standalone).
func (cfg engineConfig) withWeb(c *cli.Context, bootstrap bool) engineConfig {
	cfg.web = &webConfig{
		addr:          net.JoinHostPort(c.String("host"), strconv.Itoa(c.Int("port"))),
		publicMetrics: c.Bool("public-metrics"),
		secureCookies: c.Bool("secure-cookies"),
		bootstrap:     bootstrap,
	}
	return cfg
}

// webConfig is the webserver part of an engineConfig.
type webConfig struct {
	addr                         string
	publicMetrics, secureCookies bool
	bootstrap                    bool
}

// serveWeb runs the webserver until ctx ends.
func (e *engine) serveWeb(ctx context.Context) error {
	wc := e.cfg.web
	if wc.bootstrap {
		if err := bootstrapAdmin(ctx, e.store, e.errOut); err != nil {
			e.logger.Warn("could not create the first admin user", "err", err)
		}
	}
	var q queue.Queue
	if e.cfg.redisURL != "" || e.cfg.work {
		// The queue the workers read: Redis, or this process's own.
		q = e.queue
	}
	srv, err := web.New(web.Options{
		Store:         e.store,
		Scheduler:     e.sched,
		DAGs:          e.versions,
		Queue:         q,
		Notifier:      e.notifier,
		SessionKey:    sessionKey(e.cfg.databaseURL, e.logger),
		SecureCookies: wc.secureCookies,
		PublicMetrics: wc.publicMetrics,
		Logs:          e.logs,
		Logger:        e.logger,
	})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, wc.addr)
}

// sessionKey derives the key that signs session cookies from Starflow's
// secret key, so that sessions survive a restart and every webserver of a
// deployment accepts them. Without a usable secret key it returns nil: a
// random key per process.
func sessionKey(databaseURL string, log interface{ Warn(string, ...any) }) []byte {
	var key []byte
	var err error
	if text := os.Getenv(secrets.EnvKey); text != "" {
		key, err = secrets.DecodeKey(text)
	} else {
		key, err = secrets.LoadOrCreateKeyFile(keyFile(databaseURL))
	}
	if err != nil {
		log.Warn("no secret key for session cookies; sessions end when the webserver stops", "err", err)
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("starflow/web/session-key/v1"))
	return m.Sum(nil)
}

// checkPortFree fails with how to choose another port when addr's port is
// taken (port 0, any free port, always is free).
func checkPortFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		host, port, _ := net.SplitHostPort(addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return failedError("port %s on %s is in use: choose another with --port, STARFLOW_WEBSERVER_PORT or webserver_port in starflow.yaml (0: any free port)", port, host)
		}
		return failedError("cannot listen on %s: %v (change it with --host/--port, STARFLOW_WEBSERVER_HOST/PORT or webserver_host/port in starflow.yaml)", addr, err)
	}
	return ln.Close()
}
