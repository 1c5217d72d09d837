package templates

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ncruces/go-strftime"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// macros returns the `macros` object: Airflow's ds_add and ds_format,
// and the Python modules Airflow exposes there: datetime (the class),
// timedelta, and random (random.random, a float in [0, 1)).
func macros() *object {
	return &object{repr: "<macros>", attrs: map[string]any{
		"ds_add":    dsAdd,
		"ds_format": dsFormat,
		"datetime":  datetimeClass(newDatetime),
		"timedelta": newTimedelta,
		"random":    func() float64 { return rand.Float64() },
	}}
}

// dsAdd implements macros.ds_add(ds, days): the YYYY-MM-DD date days
// after (or before, when negative) ds.
func dsAdd(va *exec.VarArgs) (any, error) {
	a, err := unpack("ds_add", va, "ds", "days")
	if err != nil {
		return nil, err
	}
	ds, err := a.str(0)
	if err != nil {
		return nil, err
	}
	days, err := a.integer(1)
	if err != nil {
		return nil, err
	}
	t, err := time.Parse("2006-01-02", ds)
	if err != nil {
		return nil, fmt.Errorf("ds_add: ds %q is not a YYYY-MM-DD date", ds)
	}
	return formatDS(t.AddDate(0, 0, days)), nil
}

// dsFormat implements macros.ds_format(ds, input_format, output_format):
// ds parsed with one strftime format and printed with another.
func dsFormat(va *exec.VarArgs) (any, error) {
	a, err := unpack("ds_format", va, "ds", "input_format", "output_format")
	if err != nil {
		return nil, err
	}
	var s [3]string
	for i := range s {
		if s[i], err = a.str(i); err != nil {
			return nil, err
		}
	}
	t, err := strftime.Parse(s[1], s[0])
	if err != nil {
		return nil, fmt.Errorf("ds_format: %q does not match format %q: %w", s[0], s[1], err)
	}
	return strftime.Format(s[2], t), nil
}
