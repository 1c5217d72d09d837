// Package xcomvalue converts XCom values to and from their JSON form, so
// every store and the in-process runner agree on what a pulled value looks
// like: nil, bool, int64, float64, string, []any or map[string]any.
package xcomvalue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// MaxSize is the largest encoded XCom value accepted, in bytes (1 MiB).
const MaxSize = 1 << 20

// Encode returns the JSON form of v, or an error when v is not JSON-like or
// its encoding is larger than MaxSize.
func Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("xcom value is not JSON-serialisable: %w", err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("xcom value is %d bytes, larger than the %d-byte limit", len(b), MaxSize)
	}
	return b, nil
}

// Decode parses an encoded value; whole numbers become int64, others float64.
func Decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("corrupt xcom value: %w", err)
	}
	return fromNumbers(v), nil
}

// Normalize is Decode(Encode(v)).
func Normalize(v any) (any, error) {
	b, err := Encode(v)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

func fromNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return x.String()
		}
		return f
	case []any:
		for i := range x {
			x[i] = fromNumbers(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = fromNumbers(x[k])
		}
		return x
	}
	return v
}
