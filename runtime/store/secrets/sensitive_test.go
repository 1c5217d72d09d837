package secrets_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// TestSensitiveName follows Airflow's should_hide_value_for_key: a name is
// sensitive when it contains one of the sensitive words, in any case.
func TestSensitiveName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"db_password": true, "DB_PASSWORD": true, "aws_secret_access_key": true, "github_token": true,
		"stripe_api_key": true, "ApiKey": true, "ssh_private_key": true, "passphrase": true,
		"bucket": false, "region": false, "keyspace": false, "author": false,
	} {
		if got := secrets.SensitiveName(name); got != want {
			t.Errorf("SensitiveName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSensitiveValues(t *testing.T) {
	t.Parallel()
	extra := map[string]any{
		"sslmode": "require", "api_key": "k-123456", "port": int64(5432),
		"auth":   map[string]any{"client_secret": "cs-abcdef", "client_id": "public-id"},
		"tokens": []any{"t-1111", "t-2222"}, "options": map[string]any{"password": int64(98765)},
	}
	got := secrets.SensitiveValues(extra)
	slices.Sort(got)
	want := []string{"98765", "cs-abcdef", "k-123456", "t-1111", "t-2222"}
	if !slices.Equal(got, want) {
		t.Errorf("SensitiveValues = %q, want %q", got, want)
	}
}

// TestLineWriterMasksSplitSecrets: a secret written in two pieces is still
// hidden, and Flush writes the unterminated last line masked.
func TestLineWriterMasksSplitSecrets(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	w := secrets.NewLineWriter(&out, secrets.NewMasker("hunter2-pw"))
	for _, p := range []string{"password hun", "ter2-pw ok\nsecond ", "line\nlast hunter2", "-pw"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := out.String(), "password *** ok\nsecond line\n"; got != want {
		t.Errorf("before Flush: %q, want %q", got, want)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "password *** ok\nsecond line\nlast ***"; got != want {
		t.Errorf("after Flush: %q, want %q", got, want)
	}
}
