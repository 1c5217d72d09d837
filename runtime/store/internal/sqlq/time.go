package sqlq

import (
	"fmt"
	"time"
)

// sqliteTime encodes a time as SQLite stores it: INTEGER microseconds,
// NULL for the zero time.
func sqliteTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// postgresTime encodes a time as PostgreSQL stores it: a timestamptz in
// UTC, NULL for the zero time.
func postgresTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// Time is a scan destination for a time column of either dialect: it sets
// *T to the time in UTC, the zero time for NULL.
type Time struct{ T *time.Time }

// At returns a scan destination that sets *t.
func At(t *time.Time) Time { return Time{t} }

// Scan implements sql.Scanner (pgx uses it too): SQLite gives INTEGER
// microseconds, PostgreSQL a time.Time.
func (d Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.T = time.Time{}
	case int64:
		*d.T = time.UnixMicro(v).UTC()
	case time.Time:
		*d.T = v.UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}
