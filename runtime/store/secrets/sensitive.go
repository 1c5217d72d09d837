package secrets

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// SensitiveWords are the parts of a name that make its value a secret, as
// Airflow's secrets masker decides for variable keys and connection extra
// fields (its default sensitive field names).
var SensitiveWords = []string{
	"access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password",
	"private_key", "secret", "token", "keyfile_dict", "service_account",
}

// SensitiveName reports whether the value of a variable or field named
// name is hidden in logs: its lower-cased name contains one of
// SensitiveWords, as Airflow's should_hide_value_for_key.
func SensitiveName(name string) bool {
	n := strings.ToLower(name)
	return slices.ContainsFunc(SensitiveWords, func(w string) bool { return strings.Contains(n, w) })
}

// SensitiveValues returns the values to hide in v, a JSON-like value such
// as a connection's extra: every string (or number) under a sensitive key,
// at any depth; under a sensitive key, a list or dict is hidden whole,
// item by item.
func SensitiveValues(v any) []string {
	var out []string
	var walk func(v any, hide bool)
	walk = func(v any, hide bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, hide || SensitiveName(k))
			}
		case []any:
			for _, e := range x {
				walk(e, hide)
			}
		case string:
			if hide {
				out = append(out, x)
			}
		case nil, bool:
		default:
			if hide {
				out = append(out, fmt.Sprint(x))
			}
		}
	}
	walk(v, false)
	return out
}

// LineWriter masks what it writes to W a line at a time, so that a secret
// split across two writes is still hidden. Flush writes an unterminated
// last line. It is safe for concurrent use.
type LineWriter struct {
	mu      sync.Mutex
	w       io.Writer
	m       *Masker
	partial []byte
}

// NewLineWriter returns a LineWriter that masks with m and writes to w.
func NewLineWriter(w io.Writer, m *Masker) *LineWriter { return &LineWriter{w: w, m: m} }

// Write masks the complete lines of p (with any earlier partial line) and
// writes them; the rest waits for its newline or Flush.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	i := bytes.LastIndexByte(l.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	text := l.m.Mask(string(l.partial[:i+1]))
	l.partial = append(l.partial[:0], l.partial[i+1:]...)
	if _, err := io.WriteString(l.w, text); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes the unterminated last line, masked.
func (l *LineWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) == 0 {
		return nil
	}
	text := l.m.Mask(string(l.partial))
	l.partial = l.partial[:0]
	_, err := io.WriteString(l.w, text)
	return err
}
