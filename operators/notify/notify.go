package notify

import (
	"context"
	"fmt"
	nethttp "net/http"
	"runtime/debug"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// DefaultTimeout bounds one notification when Sender.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Sender sends notifications. The zero value is ready to use; it is safe
// for concurrent use.
type Sender struct {
	// Client posts webhooks; nil means http.DefaultClient.
	Client *nethttp.Client
	// Timeout bounds one notification (connecting, sending, the reply);
	// zero means DefaultTimeout.
	Timeout time.Duration
}

// Send sends the notification n for the call c: its texts are rendered
// with c's template context and its connection is read through
// c.Connections. A panic inside is returned as an error.
func (s *Sender) Send(ctx context.Context, c *operators.Call, n *dags.Notifier) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s notifier: internal error: %v\n%s", kindOf(n), p, debug.Stack())
		}
	}()
	if n == nil {
		return fmt.Errorf("notifier: none given")
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch n.Kind {
	case dags.NotifierWebhook:
		return s.webhook(ctx, c, n)
	case dags.NotifierEmail:
		return s.email(ctx, c, n)
	}
	return fmt.Errorf("notifier: unknown kind %q (known: %s, %s)", n.Kind, dags.NotifierWebhook, dags.NotifierEmail)
}

func kindOf(n *dags.Notifier) string {
	if n == nil {
		return "unknown"
	}
	return n.Kind
}

// Describe names a notifier for logs: its kind and connection, nothing
// secret.
func Describe(n *dags.Notifier) string {
	if n == nil {
		return "notifier"
	}
	return fmt.Sprintf("%s notifier (connection %s)", n.Kind, n.ConnID)
}

// connection reads the notifier's connection.
func connection(ctx context.Context, c *operators.Call, connID string) (*operators.Connection, error) {
	if c == nil || c.Connections == nil {
		return nil, fmt.Errorf("connection %q: no connections are available", connID)
	}
	conn, err := c.Connections.Get(ctx, connID)
	if err != nil {
		return nil, fmt.Errorf("connection %q: %w", connID, err)
	}
	return conn, nil
}

// renderString renders the string argument name of n, or def when n has
// none.
func renderString(ctx context.Context, c *operators.Call, n *dags.Notifier, name, def string) (string, error) {
	s := def
	if v, ok := n.Args[name]; ok && v != nil {
		str, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: got %T, want string", name, v)
		}
		s = str
	}
	out, err := c.Render(ctx, s)
	if err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return out, nil
}
