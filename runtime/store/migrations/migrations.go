package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/starflow-dev/starflow/runtime/store"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialect is a SQL dialect with its own migration folder.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Dialects lists every dialect.
var Dialects = []Dialect{SQLite, Postgres}

// VersionTable is the table that records applied migrations.
const VersionTable = "starflow_schema_version"

// FS returns the migration files of one dialect.
func FS(d Dialect) (fs.FS, error) {
	switch d {
	case SQLite, Postgres:
		return fs.Sub(files, string(d))
	}
	return nil, fmt.Errorf("unknown SQL dialect %q", d)
}

// Provider is a goose provider for one database.
type Provider struct {
	goose *goose.Provider
}

// NewProvider returns a provider for db in dialect d. On PostgreSQL,
// migrations hold an advisory lock scoped to the current schema, so that
// processes starting together migrate one at a time.
func NewProvider(ctx context.Context, d Dialect, db *sql.DB, log *slog.Logger) (*Provider, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithTableName(VersionTable), goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log), goose.WithVerbose(true))
	}
	dialect := goose.DialectSQLite3
	if d == Postgres {
		dialect = goose.DialectPostgres
		var schema string
		if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, fmt.Errorf("read current schema: %w", err)
		}
		h := fnv.New64a()
		h.Write([]byte("starflow-migrate:" + schema))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load %s migrations: %w", d, err)
	}
	return &Provider{goose: p}, nil
}

// Latest returns the newest version this binary knows.
func (p *Provider) Latest() int64 {
	src := p.goose.ListSources()
	if len(src) == 0 {
		return 0
	}
	return src[len(src)-1].Version
}

// Status reports the database's schema version against Latest. It creates
// the (empty) version table when the database has none.
func (p *Provider) Status(ctx context.Context) (store.SchemaStatus, error) {
	cur, err := p.goose.GetDBVersion(ctx)
	if err != nil {
		return store.SchemaStatus{}, fmt.Errorf("read schema version: %w", err)
	}
	return store.SchemaStatus{Current: cur, Latest: p.Latest()}, nil
}

// Up applies every pending migration and returns the versions applied. A
// schema newer than the binary is refused.
func (p *Provider) Up(ctx context.Context) ([]int64, error) {
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	if err := tooNew(st); err != nil {
		return nil, err
	}
	res, err := p.goose.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate schema: %w", err)
	}
	versions := make([]int64, len(res))
	for i, r := range res {
		versions[i] = r.Source.Version
	}
	return versions, nil
}

// Ensure does what mode asks (see store.MigrateMode).
func (p *Provider) Ensure(ctx context.Context, mode store.MigrateMode) error {
	switch mode {
	case store.MigrateNever:
		return nil
	case store.MigrateAlways:
		_, err := p.Up(ctx)
		return err
	case "", store.MigrateAuto:
	default:
		return fmt.Errorf("unknown migrate mode %q: %w", mode, store.ErrInvalid)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if err := tooNew(st); err != nil {
		return err
	}
	switch {
	case st.Current == 0:
		_, err := p.Up(ctx)
		return err
	case st.Current < st.Latest:
		return fmt.Errorf("schema version %d, this binary needs %d: run `starflow db migrate`: %w", st.Current, st.Latest, store.ErrSchemaOutdated)
	}
	return nil
}

func tooNew(st store.SchemaStatus) error {
	if st.Current > st.Latest {
		return fmt.Errorf("schema version %d, newest this binary knows is %d: upgrade starflow (refusing to start): %w", st.Current, st.Latest, store.ErrSchemaTooNew)
	}
	return nil
}

// Versions returns the migration versions of one dialect, ascending.
func Versions(d Dialect) ([]int64, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read %s migrations: %w", d, err)
	}
	var out []int64
	for _, e := range entries {
		v, err := goose.NumericComponent(e.Name())
		if err != nil {
			return nil, fmt.Errorf("%s migration %s: %w", d, e.Name(), err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no migrations")
	}
	return out, nil
}

// Reset applies every down migration, which drops every table, then every
// up migration again. A schema newer than the binary is refused, since its
// down migrations are unknown.
func (p *Provider) Reset(ctx context.Context) error {
	st, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if err := tooNew(st); err != nil {
		return err
	}
	if _, err := p.goose.DownTo(ctx, 0); err != nil {
		return fmt.Errorf("drop schema: %w", err)
	}
	if _, err := p.goose.Up(ctx); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}
