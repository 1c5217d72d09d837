package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/starflow-dev/starflow/runtime/metrics"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/tasklog"
	"github.com/starflow-dev/starflow/web/api"
	"github.com/starflow-dev/starflow/web/auth"
	"github.com/starflow-dev/starflow/web/ui"
)

// Options configures a Server.
type Options struct {
	// Store is the metadata database (required).
	Store store.Store
	// Scheduler carries out trigger, clear and mark (required for them).
	Scheduler *scheduler.Scheduler
	// DAGs builds the DAG of a stored version (required).
	DAGs api.DAGSource
	// Queue, when set, reports its depth in /health and /metrics; without
	// it both count the queued task instances in the store instead.
	Queue queue.Queue
	// Notifier, when set, feeds the task histograms: Serve observes every
	// try that finishes in any process (metrics.Follow).
	Notifier queue.Notifier
	// Metrics holds the histograms; nil creates one.
	Metrics *metrics.Metrics
	// SessionKey signs session cookies (at least 32 bytes); empty means a
	// random key per process.
	SessionKey []byte
	// SecureCookies marks cookies Secure on plain HTTP (behind a TLS
	// proxy).
	SecureCookies bool
	// PublicMetrics serves /metrics without authentication, for a
	// Prometheus that cannot send a token.
	PublicMetrics bool
	// SchedulerStaleAfter is how old the newest scheduler heartbeat may be
	// for /health to call the scheduler healthy; default 60s.
	SchedulerStaleAfter time.Duration
	Logger              *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logs reads task logs from the log folder; nil reads only the logs
	// kept in the database (from before log files).
	Logs *tasklog.Folder
}

// Server is the webserver.
type Server struct {
	opts    Options
	auth    *auth.Authenticator
	metrics *metrics.Metrics
	handler http.Handler
}

// New wires the webserver's handlers.
func New(o Options) (*Server, error) {
	if o.Store == nil || o.DAGs == nil {
		return nil, errors.New("web: Store and DAGs are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SchedulerStaleAfter <= 0 {
		o.SchedulerStaleAfter = 60 * time.Second
	}
	a, err := auth.New(auth.Options{Backend: o.Store, Key: o.SessionKey, Secure: o.SecureCookies,
		LoginPage: ui.LoginPage, Logger: o.Logger, Now: o.Now})
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, auth: a, metrics: o.Metrics}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if err := s.metrics.RegisterStore(o.Store, s.queueDepth, 5*time.Second, o.Logger); err != nil {
		return nil, fmt.Errorf("web: metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET "+api.Prefix+"/health", s.health)
	mux.HandleFunc("GET /ready", s.ready)
	mux.Handle("/login", a.Login())
	mux.Handle("/logout", a.Logout())
	mux.Handle("GET /static/", ui.StaticHandler())
	var metricsHandler http.Handler = promhttp.HandlerFor(s.metrics.Registry(), promhttp.HandlerOpts{ErrorLog: slogPrinter{o.Logger}})
	if !o.PublicMetrics {
		metricsHandler = a.RequireAuth(metricsHandler)
	}
	mux.Handle("GET /metrics", metricsHandler)
	mux.Handle(api.Prefix+"/", a.RequireAuth(api.New(api.Deps{Store: o.Store, Scheduler: o.Scheduler, DAGs: o.DAGs, Logger: o.Logger, Now: o.Now, Logs: o.Logs})))
	mux.Handle("/", a.RequireSession(ui.New(ui.Deps{Store: o.Store, Scheduler: o.Scheduler, DAGs: o.DAGs, Logger: o.Logger, Now: o.Now, Logs: o.Logs, Forget: a.Forget})))
	s.handler = recoverer(o.Logger, secureHeaders(mux))
	return s, nil
}

// Handler returns the webserver's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Auth returns the authenticator, for tests and tools that need a session.
func (s *Server) Auth() *auth.Authenticator { return s.auth }

// Metrics returns the collectors the server exposes.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// ShutdownGrace is how long Serve lets requests in flight finish once its
// context ends; followed logs are cut then.
const ShutdownGrace = 10 * time.Second

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second, // followed logs lift it
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.opts.Notifier != nil {
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			if err := s.metrics.Follow(fctx, s.opts.Notifier, s.opts.Store, s.opts.Logger); err != nil && fctx.Err() == nil {
				s.opts.Logger.Warn("metrics: not following finished tasks", "err", err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("webserver: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("webserver: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("webserver shutdown: %w", err)
	}
	return nil
}

// ListenAndServe listens on addr ("host:port") and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("webserver: listen on %s: %w", addr, err)
	}
	s.opts.Logger.Info("webserver listening", "url", "http://"+ln.Addr().String())
	return s.Serve(ctx, ln)
}

// ContentSecurityPolicy is sent with every answer. Scripts come only from
// /static (no inline script or handler runs, so markup injected into a page
// cannot run code); inline styles stay allowed (the login page's <style>,
// htmx's indicator styles), as they cannot run code either. No page may be
// framed, and forms post only to this server.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secureHeaders sets headers that every answer should carry.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a handler panic into a logged 500 instead of a dropped
// connection.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("webserver: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// slogPrinter adapts a slog.Logger to promhttp's error log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }
