package envsecrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

func env(m map[string]string) envsecrets.LookupFunc {
	return func(name string) (string, bool) { v, ok := m[name]; return v, ok }
}

type fallback map[string]string

func (f fallback) Get(_ context.Context, name string) (string, bool, error) {
	v, ok := f[name]
	return v, ok, nil
}

func TestVariablesFromTheEnvironmentFirst(t *testing.T) {
	t.Parallel()
	v := envsecrets.Variables{Lookup: env(map[string]string{"STARFLOW_VAR_BUCKET": "s3://from-env"}), Next: fallback{"bucket": "s3://from-store", "region": "eu"}}
	for name, want := range map[string]string{"bucket": "s3://from-env", "region": "eu"} {
		got, ok, err := v.Get(context.Background(), name)
		if err != nil || !ok || got != want {
			t.Errorf("Get(%s) = %q %v %v, want %q", name, got, ok, err, want)
		}
	}
	if _, ok, _ := v.Get(context.Background(), "missing"); ok {
		t.Error("a missing variable was found")
	}
}

func TestConnectionsFromURIs(t *testing.T) {
	t.Parallel()
	c := envsecrets.Connections{Lookup: env(map[string]string{"STARFLOW_CONN_WAREHOUSE": "postgres://etl:s3cret@db.internal:5432/analytics?sslmode=require"})}
	conn, err := c.Get(context.Background(), "warehouse")
	if err != nil {
		t.Fatal(err)
	}
	want := operators.Connection{ID: "warehouse", Type: "postgres", Host: "db.internal", Port: 5432, Schema: "analytics", Login: "etl", Password: "s3cret"}
	if conn.ID != want.ID || conn.Type != want.Type || conn.Host != want.Host || conn.Port != want.Port || conn.Schema != want.Schema ||
		conn.Login != want.Login || conn.Password != want.Password || conn.Extra["sslmode"] != "require" {
		t.Errorf("got %+v, want %+v with extra sslmode", conn, want)
	}
	_, err = c.Get(context.Background(), "nope")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing connection: %v, want ErrNotFound", err)
	}
}

// TestEnvironmentSecretsAreMasked: as Airflow's masker, a variable whose
// name is sensitive, a connection's password and its sensitive extra
// fields read from the environment are hidden in task logs; other values
// are not.
func TestEnvironmentSecretsAreMasked(t *testing.T) {
	t.Parallel()
	m := secrets.NewMasker()
	lookup := env(map[string]string{
		"STARFLOW_VAR_DB_PASSWORD": "pw-from-env", "STARFLOW_VAR_BUCKET": "s3://plain-bucket",
		"STARFLOW_CONN_WAREHOUSE": "postgres://etl:conn-pass@db.internal/analytics?api_key=extra-key-1&sslmode=require",
	})
	v := envsecrets.Variables{Lookup: lookup, Masker: m}
	c := envsecrets.Connections{Lookup: lookup, Masker: m}
	for _, name := range []string{"db_password", "bucket"} {
		if _, ok, err := v.Get(context.Background(), name); !ok || err != nil {
			t.Fatalf("Get(%s): %v %v", name, ok, err)
		}
	}
	if _, err := c.Get(context.Background(), "warehouse"); err != nil {
		t.Fatal(err)
	}
	line := "pw-from-env s3://plain-bucket conn-pass extra-key-1 require"
	if got, want := m.Mask(line), "*** s3://plain-bucket *** *** require"; got != want {
		t.Errorf("Mask = %q, want %q", got, want)
	}
}
