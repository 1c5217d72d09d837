package builtins

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

func TestToGo(t *testing.T) {
	t.Parallel()
	selfList := starlark.NewList(nil)
	_ = selfList.Append(selfList)
	dict := starlark.NewDict(2)
	_ = dict.SetKey(starlark.String("b"), starlark.MakeInt(2))
	_ = dict.SetKey(starlark.String("a"), starlark.NewList([]starlark.Value{starlark.None, starlark.True}))
	badKey := starlark.NewDict(1)
	_ = badKey.SetKey(starlark.MakeInt(1), starlark.None)
	tests := []struct {
		name    string
		in      starlark.Value
		want    any
		wantErr string
	}{
		{"none", starlark.None, nil, ""},
		{"bool", starlark.True, true, ""},
		{"int", starlark.MakeInt(-7), int64(-7), ""},
		{"big int", starlark.MakeBigInt(new(big.Int).Lsh(big.NewInt(1), 70)), nil, "does not fit in 64 bits"},
		{"float", starlark.Float(1.5), 1.5, ""},
		{"nan", starlark.Float(math.NaN()), nil, "not a JSON number"},
		{"string", starlark.String("x"), "x", ""},
		{"tuple", starlark.Tuple{starlark.MakeInt(1), starlark.String("a")}, []any{int64(1), "a"}, ""},
		{"dict", dict, map[string]any{"a": []any{nil, true}, "b": int64(2)}, ""},
		{"dict with int key", badKey, nil, "only string keys"},
		{"time", startime.Time(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), "2024-01-02T03:04:05Z", ""},
		{"self-containing list", selfList, nil, "nested more than"},
		{"function", starlark.NewBuiltin("f", nil), nil, "a builtin_function_or_method is not a JSON-like value"},
		{"duration", Duration(time.Second), nil, "a timedelta is not a JSON-like value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ToGo(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ToGo(%s) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ToGo(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToGo(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFromGo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      any
		want    string // the Starlark repr
		wantErr string
	}{
		{"nil", nil, "None", ""},
		{"bool", false, "False", ""},
		{"int", 3, "3", ""},
		{"int64", int64(-3), "-3", ""},
		{"uint64", uint64(1) << 63, "9223372036854775808", ""},
		{"float", 2.5, "2.5", ""},
		{"json int", json.Number("12"), "12", ""},
		{"json float", json.Number("1.25"), "1.25", ""},
		{"string", "s", `"s"`, ""},
		{"list", []any{1, "a", nil}, `[1, "a", None]`, ""},
		{"strings", []string{"a", "b"}, `["a", "b"]`, ""},
		{"map sorted", map[string]any{"b": 1, "a": []any{true}}, `{"a": [True], "b": 1}`, ""},
		{"string map", map[string]string{"z": "1", "y": "2"}, `{"y": "2", "z": "1"}`, ""},
		{"time", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), `"2024-01-02T00:00:00Z"`, ""},
		{"xcom ref", dags.XComRef{TaskID: "a", Key: "return_value"}, "", "unresolved XCom reference"},
		{"struct", struct{}{}, "", "cannot convert a Go struct {}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromGo(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromGo(%#v) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromGo(%#v): %v", tt.in, err)
			}
			if got.String() != tt.want {
				t.Errorf("FromGo(%#v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	in := map[string]any{"n": int64(1), "f": 0.5, "s": "x", "l": []any{nil, true, []any{}}, "m": map[string]any{}}
	v, err := FromGo(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ToGo(v)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip changed the value:\n got %#v\nwant %#v", out, in)
	}
}
