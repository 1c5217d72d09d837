package builtins

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// Notifier is the value of webhook_notifier(...) and email_notifier(...):
// a built-in notifier that a callback keyword accepts in place of a
// function (Airflow's notifier classes).
type Notifier struct {
	n *dags.Notifier
}

var _ starlark.Value = (*Notifier)(nil)

// String returns e.g. <webhook_notifier "slack">.
func (n *Notifier) String() string {
	return fmt.Sprintf("<%s_notifier %q>", n.n.Kind, n.n.ConnID)
}

// Type returns "notifier".
func (n *Notifier) Type() string { return "notifier" }

// Freeze does nothing: the notifier is immutable.
func (n *Notifier) Freeze() {}

// Truth returns True.
func (n *Notifier) Truth() starlark.Bool { return starlark.True }

// Hash fails: notifiers are not hashable.
func (n *Notifier) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: notifier") }

// Model returns the notifier as the model holds it.
func (n *Notifier) Model() *dags.Notifier { return n.n }

// webhookNotifierFn implements webhook_notifier(conn_id, text=..., payload=None).
func webhookNotifierFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		connID  string
		text    starlark.Value = starlark.None
		payload starlark.Value = starlark.None
	)
	if err := unpack(fn.Name(), args, kwargs, 1, "conn_id", &connID, "text?", &text, "payload?", &payload); err != nil {
		return nil, err
	}
	if connID == "" {
		return nil, fmt.Errorf("%s: conn_id must not be empty", fn.Name())
	}
	n := &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: connID, Args: map[string]any{}}
	switch {
	case text != starlark.None && payload != starlark.None:
		return nil, fmt.Errorf("%s: pass text or payload, not both", fn.Name())
	case payload != starlark.None:
		if _, ok := payload.(*starlark.Dict); !ok {
			return nil, fmt.Errorf("%s: for parameter payload: got %s, want dict", fn.Name(), payload.Type())
		}
		p, err := ToGo(payload)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter payload: %w", fn.Name(), err)
		}
		n.Args["payload"] = p
	default:
		s := dags.DefaultNotifierText
		if text != starlark.None {
			var err error
			if s, err = stringOf(text); err != nil {
				return nil, fmt.Errorf("%s: for parameter text: %w", fn.Name(), err)
			}
		}
		n.Args["text"] = s
	}
	return &Notifier{n: n}, nil
}

// emailNotifierFn implements email_notifier(conn_id, to, subject=...,
// html_content=..., from_email=None).
func emailNotifierFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		connID  string
		to      starlark.Value
		subject = dags.DefaultNotifierSubject
		html    = dags.DefaultNotifierHTML
		from    string
	)
	if err := unpack(fn.Name(), args, kwargs, 2, "conn_id", &connID, "to", &to,
		"subject?", &subject, "html_content?", &html, "from_email?", &from); err != nil {
		return nil, err
	}
	if connID == "" {
		return nil, fmt.Errorf("%s: conn_id must not be empty", fn.Name())
	}
	var rcpts []any
	if s, ok := to.(starlark.String); ok {
		rcpts = append(rcpts, string(s))
	} else if elems, ok := asList(to); ok {
		for i, e := range elems {
			s, ok := e.(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: for parameter to: item %d: got %s, want string", fn.Name(), i, e.Type())
			}
			rcpts = append(rcpts, string(s))
		}
	} else {
		return nil, fmt.Errorf("%s: for parameter to: got %s, want a string or a list of strings", fn.Name(), to.Type())
	}
	if len(rcpts) == 0 {
		return nil, fmt.Errorf("%s: for parameter to: no recipient", fn.Name())
	}
	for _, r := range rcpts {
		if s := r.(string); strings.ContainsAny(s, "\r\n") || strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("%s: for parameter to: bad address %q", fn.Name(), s)
		}
	}
	n := &dags.Notifier{Kind: dags.NotifierEmail, ConnID: connID, Args: map[string]any{
		"to": rcpts, "subject": subject, "html_content": html,
	}}
	if from != "" {
		n.Args["from_email"] = from
	}
	return &Notifier{n: n}, nil
}

// callbackItem is one entry of a callback keyword: a function or a
// notifier.
type callbackItem struct {
	fn       starlark.Callable
	notifier *dags.Notifier
}

// callbacksOf reads a callback keyword: None, a function, a notifier, or
// a list or tuple of functions and notifiers.
func callbacksOf(v starlark.Value) ([]callbackItem, error) {
	const want = "want a function, a notifier, a list of them, or None"
	one := func(v starlark.Value) (callbackItem, error) {
		switch x := v.(type) {
		case *Notifier:
			return callbackItem{notifier: x.n}, nil
		case starlark.Callable:
			return callbackItem{fn: x}, nil
		}
		return callbackItem{}, fmt.Errorf("got %s, %s", v.Type(), want)
	}
	if v == nil || v == starlark.None {
		return nil, nil
	}
	if elems, ok := asList(v); ok {
		out := make([]callbackItem, 0, len(elems))
		for i, e := range elems {
			it, err := one(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, it)
		}
		return out, nil
	}
	it, err := one(v)
	if err != nil {
		return nil, err
	}
	return []callbackItem{it}, nil
}

// modelCallbacks turns callback items into the model's callbacks; the
// function of item i is registered under key (i = 0) or key[i].
func modelCallbacks(items []callbackItem, key string, register func(string, starlark.Callable)) []dags.Callback {
	if len(items) == 0 {
		return nil
	}
	out := make([]dags.Callback, 0, len(items))
	for i, it := range items {
		if it.notifier != nil {
			out = append(out, dags.Callback{Notifier: it.notifier})
			continue
		}
		k := key
		if i > 0 {
			k = fmt.Sprintf("%s[%d]", key, i)
		}
		if register != nil {
			register(k, it.fn)
		}
		out = append(out, dags.Callback{Function: k})
	}
	return out
}
