package dags

import "testing"

func TestPosString(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pos   Pos
		want  string
		valid bool
	}{
		{Pos{File: "dags/etl.star", Line: 12, Col: 5}, "dags/etl.star:12:5", true},
		{Pos{File: "dags/etl.star", Line: 12}, "dags/etl.star:12", true},
		{Pos{File: "dags/etl.star"}, "dags/etl.star", false},
		{Pos{Line: 3, Col: 1}, "<unknown>:3:1", true},
		{Pos{}, "<unknown>", false},
		{Pos{File: "x.star", Line: -1, Col: 4}, "x.star", false},
	} {
		if got := tt.pos.String(); got != tt.want || tt.pos.IsValid() != tt.valid {
			t.Errorf("%#v: String %q IsValid %v, want %q %v", tt.pos, got, tt.pos.IsValid(), tt.want, tt.valid)
		}
	}
}

func TestFindingError(t *testing.T) {
	t.Parallel()
	f := Finding{Pos: Pos{File: "etl.star", Line: 4, Col: 9}, Rule: RuleCycle, Message: `DAG "etl" has a cycle: a >> b >> a`}
	if got, want := f.Error(), `etl.star:4:9: DAG "etl" has a cycle: a >> b >> a [cycle]`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var err error = f // a Finding is an error
	if err.Error() == "" {
		t.Error("empty error")
	}
}
