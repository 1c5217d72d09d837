package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// EncodeJSON encodes v for storage and checks it against limit bytes. what
// names the value in errors ("xcom etl/r1/load return_value"). A
// json.RawMessage is checked and stored as is.
func EncodeJSON(what string, v any, limit int) (string, error) {
	var data []byte
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return "", fmt.Errorf("%s: not valid JSON: %w", what, ErrInvalid)
		}
		data = raw
	} else {
		var err error
		data, err = json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("%s: cannot encode as JSON: %v: %w", what, err, ErrInvalid)
		}
	}
	if len(data) > limit {
		return "", fmt.Errorf("%s is %d bytes of JSON, over the limit of %s: %w", what, len(data), formatBytes(limit), ErrTooLarge)
	}
	return string(data), nil
}

// DecodeJSON decodes a stored JSON value into plain Go values: nil, bool,
// int64 (for integers that fit), float64, string, []any and map[string]any.
// A value that is not JSON is an error wrapping ErrCorrupt.
func DecodeJSON(what, text string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: stored JSON is corrupt: %v: %w", what, err, ErrCorrupt)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: stored JSON is corrupt: trailing data: %w", what, ErrCorrupt)
	}
	return PlainNumbers(v), nil
}

// DecodeJSONObject decodes a stored JSON object (a run's conf); null and
// the empty text decode to an empty map.
func DecodeJSONObject(what, text string) (map[string]any, error) {
	if text == "" {
		return map[string]any{}, nil
	}
	v, err := DecodeJSON(what, text)
	if err != nil {
		return nil, err
	}
	switch m := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return m, nil
	}
	return nil, fmt.Errorf("%s: stored JSON is not an object: %w", what, ErrCorrupt)
}

// PlainNumbers replaces, in place, each json.Number in v (a value decoded
// with UseNumber) with an int64 when it is integral, else a float64, as
// the store's JSON values are; it returns v.
func PlainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil {
			// Out of float64 range: keep the closest value JSON allows.
			if f > 0 {
				return math.MaxFloat64
			}
			return -math.MaxFloat64
		}
		return f
	case []any:
		for i := range x {
			x[i] = PlainNumbers(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = PlainNumbers(x[k])
		}
		return x
	}
	return v
}

func formatBytes(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// AppendLog appends to buf the part of a stored log chunk (starting at
// byte off) that lies at or after *next, up to limit bytes in buf, and
// advances *next. Implementations use it to serve TaskLogRead.
func AppendLog(buf []byte, next *int64, off int64, data []byte, limit int) []byte {
	if off+int64(len(data)) <= *next {
		return buf
	}
	if skip := *next - off; skip > 0 {
		data = data[skip:]
	}
	if room := limit - len(buf); len(data) > room {
		data = data[:room]
	}
	*next += int64(len(data))
	return append(buf, data...)
}
