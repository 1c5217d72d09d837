package redisqueue

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/starflow-dev/starflow/runtime/queue"
)

// Stream entry fields.
const (
	fieldMessage  = "m" // wireMessage as JSON
	fieldPriority = "p" // Message.Priority in decimal
)

// wireMessage is a Message's ids as stored in field m. The queue name is
// the stream's and the priority has its own field.
type wireMessage struct {
	DAGID      string `json:"d"`
	RunID      string `json:"r"`
	TaskID     string `json:"t"`
	MapIndex   int    `json:"i"`
	TryNumber  int    `json:"n"`
	SourceHash string `json:"h,omitempty"`
}

// entryValues returns the XADD field-value pairs of m.
func entryValues(m queue.Message) ([]any, error) {
	b, err := json.Marshal(wireMessage{DAGID: m.DAGID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex, TryNumber: m.TryNumber, SourceHash: m.SourceHash})
	if err != nil {
		return nil, fmt.Errorf("encode message %s/%s/%s: %w", m.DAGID, m.RunID, m.TaskID, err)
	}
	return []any{fieldMessage, b, fieldPriority, strconv.Itoa(m.Priority)}, nil
}

// decodeMessage rebuilds the message of an entry of the named queue from
// its m and p fields.
func decodeMessage(name, m, p string) (queue.Message, error) {
	var w wireMessage
	if err := json.Unmarshal([]byte(m), &w); err != nil {
		return queue.Message{}, fmt.Errorf("field %s: %w", fieldMessage, err)
	}
	msg := queue.Message{DAGID: w.DAGID, RunID: w.RunID, TaskID: w.TaskID, MapIndex: w.MapIndex, TryNumber: w.TryNumber, SourceHash: w.SourceHash, Queue: name}
	if p != "" {
		prio, err := strconv.Atoi(p)
		if err != nil {
			return queue.Message{}, fmt.Errorf("field %s: %w", fieldPriority, err)
		}
		msg.Priority = prio
	}
	return msg, msg.Validate()
}

// fields are the raw m and p fields of an entry.
type fields struct{ m, p string }

// fieldsFromPairs reads the m and p fields from a script's flat
// {field, value, …} list.
func fieldsFromPairs(v any) (f fields) {
	pairs, _ := v.([]any)
	for i := 0; i+1 < len(pairs); i += 2 {
		name, _ := pairs[i].(string)
		val, _ := pairs[i+1].(string)
		switch name {
		case fieldMessage:
			f.m = val
		case fieldPriority:
			f.p = val
		}
	}
	return f
}

// fieldsFromMap reads the m and p fields from go-redis's parsed entry.
func fieldsFromMap(values map[string]any) (f fields) {
	f.m, _ = values[fieldMessage].(string)
	f.p, _ = values[fieldPriority].(string)
	return f
}

// wireEvent is an Event as published.
type wireEvent struct {
	Kind     string `json:"k"`
	DAGID    string `json:"d,omitempty"`
	RunID    string `json:"r,omitempty"`
	TaskID   string `json:"t,omitempty"`
	MapIndex int    `json:"i,omitempty"`
}

func encodeEvent(e queue.Event) ([]byte, error) {
	return json.Marshal(wireEvent{Kind: e.Kind, DAGID: e.DAGID, RunID: e.RunID, TaskID: e.TaskID, MapIndex: e.MapIndex})
}

func decodeEvent(s string) (queue.Event, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return queue.Event{}, err
	}
	return queue.Event{Kind: w.Kind, DAGID: w.DAGID, RunID: w.RunID, TaskID: w.TaskID, MapIndex: w.MapIndex}, nil
}
