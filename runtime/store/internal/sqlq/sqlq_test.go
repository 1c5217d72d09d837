package sqlq

import (
	"reflect"
	"testing"
)

// TestDialectsComplete checks that each dialect sets every field but the
// ones that may be empty, so that no method of a store calls a nil func.
func TestDialectsComplete(t *testing.T) {
	mayBeEmpty := map[string]bool{"TimeCast": true, "NoLimit": true, "ForUpdate": true}
	for _, d := range []Dialect{SQLite, Postgres} {
		v := reflect.ValueOf(d)
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			if v.Field(i).IsZero() && !mayBeEmpty[name] {
				t.Errorf("dialect %s: %s is not set", d.Name, name)
			}
		}
	}
}
