package operators

import (
	"math"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

func TestTruthy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {true, true},
		{int64(0), false}, {int64(-1), true}, {0, false}, {7, true},
		{0.0, false}, {0.1, true}, {math.NaN(), true},
		{"", false}, {"0", true}, {"False", true},
		{[]any{}, false}, {[]any{nil}, true}, {[]string{}, false},
		{map[string]any{}, false}, {map[string]any{"k": nil}, true},
		{dags.XComRef{TaskID: "x"}, true},
	}
	for _, tt := range tests {
		if got := Truthy(tt.v); got != tt.want {
			t.Errorf("Truthy(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}
