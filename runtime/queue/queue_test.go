package queue_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/starflow-dev/starflow/runtime/queue"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQueueNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"no queues means the default queue", nil, []string{"default"}},
		{"one named queue stays", []string{"gpu"}, []string{"gpu"}},
		{"an empty name means the default queue", []string{""}, []string{"default"}},
		{"duplicates are dropped keeping the first", []string{"gpu", "", "gpu", "default", "cpu"}, []string{"gpu", "default", "cpu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := queue.QueueNames(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("QueueNames(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMessageQueueName(t *testing.T) {
	t.Parallel()
	if got := (queue.Message{}).QueueName(); got != queue.DefaultQueue {
		t.Errorf("empty Queue: QueueName() = %q, want %q", got, queue.DefaultQueue)
	}
	if got := (queue.Message{Queue: "gpu"}).QueueName(); got != "gpu" {
		t.Errorf("QueueName() = %q, want gpu", got)
	}
}

func TestMessageValidate(t *testing.T) {
	t.Parallel()
	ok := queue.Message{DAGID: "d", RunID: "r", TaskID: "t", TryNumber: 1}
	tests := []struct {
		name    string
		edit    func(m *queue.Message)
		wantErr bool
	}{
		{"a message with every id is valid", func(*queue.Message) {}, false},
		{"try number zero is valid", func(m *queue.Message) { m.TryNumber = 0 }, false},
		{"a missing DAG id is invalid", func(m *queue.Message) { m.DAGID = "" }, true},
		{"a missing run id is invalid", func(m *queue.Message) { m.RunID = "" }, true},
		{"a missing task id is invalid", func(m *queue.Message) { m.TaskID = "" }, true},
		{"a negative try number is invalid", func(m *queue.Message) { m.TryNumber = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ok
			tt.edit(&m)
			err := m.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, queue.ErrInvalid) {
				t.Errorf("Validate() = %v, want it to wrap ErrInvalid", err)
			}
		})
	}
}

func TestMaxOrOne(t *testing.T) {
	t.Parallel()
	for in, want := range map[int]int{-3: 1, 0: 1, 1: 1, 50: 50} {
		if got := queue.MaxOrOne(in); got != want {
			t.Errorf("MaxOrOne(%d) = %d, want %d", in, got, want)
		}
	}
}
