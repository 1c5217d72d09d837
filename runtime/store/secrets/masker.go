package secrets

import (
	"sort"
	"strings"
	"sync"
)

// MinMaskLength is the shortest value a Masker hides; shorter values
// ("1", "yes") would mask ordinary words all over a log.
const MinMaskLength = 4

// Mask is the text that replaces a secret.
const Mask = "***"

// Masker replaces known secret values in log lines with ***. It is safe for
// concurrent use; the task-log writer passes every line through Mask.
type Masker struct {
	mu       sync.RWMutex
	values   map[string]bool
	replacer *strings.Replacer
}

// NewMasker returns a Masker that knows the given values.
func NewMasker(values ...string) *Masker {
	m := &Masker{values: map[string]bool{}}
	m.Add(values...)
	return m
}

// Add makes the masker hide more values. Values shorter than MinMaskLength
// are ignored. A multi-line value is also hidden line by line, since logs
// are masked a line at a time.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	changed := false
	add := func(v string) {
		v = strings.TrimRight(v, "\r")
		if len(v) >= MinMaskLength && !m.values[v] {
			m.values[v] = true
			changed = true
		}
	}
	for _, v := range values {
		add(v)
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				add(line)
			}
		}
	}
	if changed {
		m.rebuild()
	}
}

// rebuild makes the replacer; longer values come first so that a secret
// containing another is hidden whole.
func (m *Masker) rebuild() {
	vals := make([]string, 0, len(m.values))
	for v := range m.values {
		vals = append(vals, v)
	}
	sort.Slice(vals, func(i, j int) bool {
		if len(vals[i]) != len(vals[j]) {
			return len(vals[i]) > len(vals[j])
		}
		return vals[i] < vals[j]
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, Mask)
	}
	m.replacer = strings.NewReplacer(pairs...)
}

// Mask returns line with every known secret replaced by ***.
func (m *Masker) Mask(line string) string {
	m.mu.RLock()
	r := m.replacer
	m.mu.RUnlock()
	if r == nil {
		return line
	}
	return r.Replace(line)
}

// Len returns the number of values the masker hides.
func (m *Masker) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.values)
}
