// Package envsecrets reads variables and connections from the process
// environment, as Airflow's environment-variables secrets backend does:
// STARFLOW_VAR_<NAME> holds a variable's value and STARFLOW_CONN_<CONN_ID>
// a connection in URI form (postgres://user:pass@host:5432/db). Names are
// upper-cased to find the variable. Lookups that miss fall through to the
// next source, typically the metadata store, so a worker or `test-dag` can
// take secrets from its environment without writing them anywhere.
//
// With a Masker, the secrets read are hidden in task logs as Airflow hides
// them: the value of a variable whose name is sensitive (secrets.SensitiveName:
// password, secret, token, api_key, ...), and a connection's password and
// the extra fields with sensitive names.
package envsecrets

import (
	"context"
	"os"
	"strings"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// Prefixes of the environment variables read.
const (
	VarPrefix  = "STARFLOW_VAR_"
	ConnPrefix = "STARFLOW_CONN_"
)

// LookupFunc reads one environment variable; os.LookupEnv in production.
type LookupFunc func(name string) (string, bool)

// Variables reads STARFLOW_VAR_<NAME>, then Next (when set).
type Variables struct {
	Lookup LookupFunc
	Next   operators.Variables
	// Masker, when set, learns the values of variables with sensitive
	// names read from the environment.
	Masker *secrets.Masker
}

// Get returns the variable's value and whether it exists.
func (v Variables) Get(ctx context.Context, name string) (string, bool, error) {
	if val, ok := lookup(v.Lookup)(VarPrefix + strings.ToUpper(name)); ok {
		if v.Masker != nil && secrets.SensitiveName(name) {
			v.Masker.Add(val)
		}
		return val, true, nil
	}
	if v.Next != nil {
		return v.Next.Get(ctx, name)
	}
	return "", false, nil
}

// Connections reads STARFLOW_CONN_<CONN_ID>, then Next (when set).
type Connections struct {
	Lookup LookupFunc
	Next   operators.Connections
	// Masker, when set, learns the password and the sensitive extra
	// fields of connections read from the environment.
	Masker *secrets.Masker
}

// Get returns the connection, or an error wrapping store.ErrNotFound.
func (c Connections) Get(ctx context.Context, connID string) (*operators.Connection, error) {
	if uri, ok := lookup(c.Lookup)(ConnPrefix + strings.ToUpper(connID)); ok {
		conn, err := store.ParseConnectionURI(connID, uri)
		if err == nil {
			MaskConnection(c.Masker, conn)
		}
		return conn, err
	}
	if c.Next != nil {
		return c.Next.Get(ctx, connID)
	}
	return nil, &notFound{connID: connID}
}

type notFound struct{ connID string }

func (e *notFound) Error() string {
	return "connection " + e.connID + ": not found (set " + ConnPrefix + strings.ToUpper(e.connID) + " or add it with `starflow connections add`)"
}
func (e *notFound) Unwrap() error { return store.ErrNotFound }

func lookup(f LookupFunc) LookupFunc {
	if f == nil {
		return os.LookupEnv
	}
	return f
}

// MaskConnection adds conn's password and the values of its extra fields
// with sensitive names to m; a nil m or conn does nothing.
func MaskConnection(m *secrets.Masker, conn *operators.Connection) {
	if m == nil || conn == nil {
		return
	}
	if conn.Password != "" {
		m.Add(conn.Password)
	}
	if len(conn.Extra) > 0 {
		m.Add(secrets.SensitiveValues(conn.Extra)...)
	}
}
