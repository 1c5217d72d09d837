package sensors

import (
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/subprocess"
)

// Kinds lists the sensor kinds Register adds.
var Kinds = []string{FileKind, HTTPKind, SQLKind, ExternalTaskKind, TimeDeltaKind, DateTimeKind, PythonKind, DayOfWeekKind, BashKind, TimeKind}

// New returns the sensors with the real clock, by kind.
func New() map[string]operators.Operator {
	return map[string]operators.Operator{
		FileKind:         &FileSensor{},
		HTTPKind:         &HTTPSensor{},
		SQLKind:          &SQLSensor{},
		ExternalTaskKind: &ExternalTaskSensor{},
		TimeDeltaKind:    &TimeDeltaSensor{},
		DateTimeKind:     &DateTimeSensor{},
		PythonKind:       &PythonSensor{},
		DayOfWeekKind:    &DayOfWeekSensor{},
		BashKind:         &BashSensor{Env: subprocess.PolicyFromEnv()},
		TimeKind:         &TimeSensor{},
	}
}

// Register adds every sensor to r under its kind, and the external task
// marker that pairs with external_task_sensor.
func Register(r *operators.Registry) {
	for kind, op := range New() {
		r.Register(kind, op)
	}
	r.Register(ExternalTaskMarkerKind, &ExternalTaskMarker{})
}
