package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newTestBox(t *testing.T) *Box {
	t.Helper()
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoxRoundTrip(t *testing.T) {
	t.Parallel()
	b := newTestBox(t)
	for _, plain := range []string{"", "hunter2", "pässwörd with ünicode", strings.Repeat("x", 100000)} {
		sealed, err := b.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !IsEncrypted(sealed) {
			t.Errorf("Encrypt(%.10q) = %.20q, want the sf1: prefix", plain, sealed)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Errorf("sealed value contains the plain text")
		}
		got, err := b.Decrypt(sealed)
		if err != nil {
			t.Fatal(err)
		}
		if got != plain {
			t.Errorf("Decrypt(Encrypt(%.10q)) = %.10q", plain, got)
		}
	}
}

func TestEncryptUsesFreshNonces(t *testing.T) {
	t.Parallel()
	b := newTestBox(t)
	a1, _ := b.Encrypt("same")
	a2, _ := b.Encrypt("same")
	if a1 == a2 {
		t.Errorf("two encryptions of one value are equal: %q", a1)
	}
}

func TestDecryptFailures(t *testing.T) {
	t.Parallel()
	b := newTestBox(t)
	other := newTestBox(t)
	sealed, err := b.Encrypt("secret value")
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 0x01
	tests := []struct {
		name  string
		box   *Box
		input string
	}{
		{"another key", other, sealed},
		{"tampered ciphertext", b, string(tampered)},
		{"no prefix", b, "plain text"},
		{"bad base64", b, "sf1:!!!"},
		{"too short", b, "sf1:AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.box.Decrypt(tt.input)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("Decrypt: err = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestDecodeKey(t *testing.T) {
	t.Parallel()
	key, _ := NewKey()
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"standard base64", EncodeKey(key), ""},
		{"with newline", EncodeKey(key) + "\n", ""},
		{"url base64 unpadded", strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(EncodeKey(key)), "="), ""},
		{"too short", EncodeKey(key[:16]), "must decode to 32 bytes, got 16"},
		{"not base64", "correct horse battery staple!", "not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeKey(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeKey: err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(key) {
				t.Errorf("DecodeKey returned another key")
			}
		})
	}
}

func TestKeyFileIsCreatedOnFirstUseWithMode0600(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "starflow.key")
	k1 := &Keyring{File: path}
	sealed, err := k1.Encrypt("pw")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file not created: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
	// A second keyring (another process) reads the same key.
	k2 := &Keyring{File: path}
	got, err := k2.Decrypt(sealed)
	if err != nil || got != "pw" {
		t.Errorf("second keyring Decrypt = %q, %v; want pw", got, err)
	}
}

func TestConcurrentKeyFileCreationAgreesOnOneKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "starflow.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = LoadOrCreateKeyFile(path)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if string(keys[i]) != string(keys[0]) {
			t.Fatalf("goroutine %d got another key", i)
		}
	}
}

func TestKeyringPrefersKeyOverFile(t *testing.T) {
	t.Parallel()
	key, _ := NewKey()
	path := filepath.Join(t.TempDir(), "unused.key")
	k := &Keyring{Key: EncodeKey(key), File: path}
	sealed, err := k.Encrypt("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("key file was created although a key was given")
	}
	b, _ := NewBox(key)
	if got, err := b.Decrypt(sealed); err != nil || got != "x" {
		t.Errorf("Box with the same key: %q, %v", got, err)
	}
}

func TestKeyringErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		k       *Keyring
		wantErr string
	}{
		{"no key and no file", &Keyring{}, "no secret key: set STARFLOW_SECRET_KEY"},
		{"bad key", &Keyring{Key: "short"}, "STARFLOW_SECRET_KEY: secret key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.k.Encrypt("x")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Encrypt: err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMasker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		line   string
		want   string
	}{
		{"no secrets", nil, "password=hunter2", "password=hunter2"},
		{"one secret", []string{"hunter2"}, "password=hunter2 ok", "password=*** ok"},
		{"every occurrence", []string{"s3cr3t"}, "s3cr3t and s3cr3t", "*** and ***"},
		{"longest first", []string{"abcd", "abcdefgh"}, "key abcdefgh", "key ***"},
		{"short values ignored", []string{"abc"}, "abc abc", "abc abc"},
		{"multi-line secret by line", []string{"line-one\nline-two"}, "got line-two here", "got *** here"},
		{"unicode", []string{"пароль123"}, "x пароль123 y", "x *** y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewMasker(tt.values...)
			if got := m.Mask(tt.line); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestMaskerAddIsSafeWhileMasking(t *testing.T) {
	t.Parallel()
	m := NewMasker()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			m.Add(strings.Repeat("k", 5+i))
		}()
		go func() {
			defer wg.Done()
			_ = m.Mask("kkkkkkkkkk")
		}()
	}
	wg.Wait()
	if m.Len() != 4 {
		t.Errorf("Len = %d, want 4", m.Len())
	}
	if got := m.Mask("kkkkkkkk"); got != "***" {
		t.Errorf("Mask = %q, want ***", got)
	}
}

func BenchmarkMask(b *testing.B) {
	vals := make([]string, 50)
	for i := range vals {
		vals[i] = strings.Repeat(string(rune('a'+i%26)), 8) + "-secret"
	}
	m := NewMasker(vals...)
	line := "2024-01-01T00:00:00Z INFO connecting to postgres://user@db:5432/app with token zzzzzzzz-secret done"
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Mask(line)
	}
}
