package migrations

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/pgtest"
)

func TestDialectsHaveMatchingVersions(t *testing.T) {
	t.Parallel()
	names := map[Dialect][]string{}
	for _, d := range Dialects {
		fsys, err := FS(d)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".sql") {
				t.Errorf("%s/%s: only .sql migrations belong here", d, e.Name())
			}
			names[d] = append(names[d], e.Name())
		}
		versions, err := Versions(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range versions {
			if v != int64(i+1) {
				t.Errorf("%s: migration %d has version %d; versions must run 1, 2, 3, … without gaps", d, i, v)
			}
		}
	}
	if !slices.Equal(names[SQLite], names[Postgres]) {
		t.Errorf("migration files differ between dialects:\nsqlite:   %v\npostgres: %v", names[SQLite], names[Postgres])
	}
}

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	cfg, err := pgxConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestEnsure(t *testing.T) {
	t.Parallel()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openSQLite
			if d == Postgres {
				db = openPostgres
			}
			conn := db(t)
			p, err := NewProvider(ctx, d, conn, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Never leaves an empty database alone.
			if err := p.Ensure(ctx, store.MigrateNever); err != nil {
				t.Fatal(err)
			}
			st, err := p.Status(ctx)
			if err != nil || st.Current != 0 || st.Latest < 1 {
				t.Fatalf("fresh database: status %+v, %v; want current 0", st, err)
			}
			// Auto creates the schema in an empty database, with the
			// default pool.
			if err := p.Ensure(ctx, store.MigrateAuto); err != nil {
				t.Fatal(err)
			}
			var slots int
			if err := conn.QueryRowContext(ctx, "SELECT slots FROM pool WHERE name = 'default_pool'").Scan(&slots); err != nil || slots != 128 {
				t.Fatalf("default_pool slots = %d, %v; want 128", slots, err)
			}
			if st, _ := p.Status(ctx); !st.UpToDate() {
				t.Fatalf("after migrating: %+v", st)
			}
			// Down and up again: the down migrations work.
			if _, err := p.goose.DownTo(ctx, 0); err != nil {
				t.Fatalf("down: %v", err)
			}
			if st, _ := p.Status(ctx); st.Current != 0 {
				t.Fatalf("after down: %+v", st)
			}
			if _, err := p.Up(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
			// A schema newer than the binary is refused in every mode
			// that looks at it.
			if _, err := conn.ExecContext(ctx, "INSERT INTO "+VersionTable+" (version_id, is_applied) VALUES (9999, true)"); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []store.MigrateMode{store.MigrateAuto, store.MigrateAlways} {
				err := p.Ensure(ctx, mode)
				if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version 9999") {
					t.Errorf("Ensure(%s) with a newer schema: err = %v, want ErrSchemaTooNew naming 9999", mode, err)
				}
			}
		})
	}
}

func TestEnsureRefusesAnOutdatedSchemaInAutoMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := openSQLite(t)
	p, err := NewProvider(ctx, SQLite, conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	// Pretend the binary knows one migration more than the database has.
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+VersionTable+" WHERE version_id = ?", p.Latest()); err != nil {
		t.Fatal(err)
	}
	if p.Latest() == 1 {
		// Only the first migration exists: the database now looks empty,
		// which auto mode migrates; nothing more to check.
		return
	}
	err = p.Ensure(ctx, store.MigrateAuto)
	if !errors.Is(err, store.ErrSchemaOutdated) || !strings.Contains(err.Error(), "starflow db migrate") {
		t.Errorf("Ensure(auto) on an outdated schema: err = %v, want ErrSchemaOutdated", err)
	}
}
