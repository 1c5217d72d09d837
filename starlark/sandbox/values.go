package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
)

// wireValue returns v with every float64 as a json.Number that keeps a
// decimal point or exponent, so that the other side decodes a float as a
// float (encoding/json writes 1.0 as 1, which would come back an int).
// Maps and slices are copied; other values are returned as they are.
func wireValue(v any) any {
	switch x := v.(type) {
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEnN") {
			s += ".0"
		}
		return json.Number(s)
	case float32:
		return wireValue(float64(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = wireValue(e)
		}
		return out
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = wireValue(e)
		}
		return out
	}
	return v
}

// wireMap is wireValue of a map.
func wireMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return wireValue(m).(map[string]any)
}
