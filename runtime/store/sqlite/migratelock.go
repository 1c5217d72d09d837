package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockMigrations takes an exclusive lock on a file beside the database
// (path + "-migrate.lock", as SQLite keeps its "-wal" and "-shm" beside it),
// so that processes opening a new database together migrate it one at a
// time: the second finds the schema made. The lock is a separate file
// because closing any descriptor of the database file itself would drop
// SQLite's own POSIX locks in this process. It waits until ctx is done.
func lockMigrations(ctx context.Context, path string) (unlock func(), err error) {
	name := path + "-migrate.lock"
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("migration lock %s: %w", name, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("migration lock %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("migration lock %s: another process is migrating the database: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
