package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	httpop "github.com/starflow-dev/starflow/operators/http"
)

// webhook POSTs the notification as JSON to the connection's URL (host,
// schema and port as the http operator reads them; string extras are
// headers; login and password are basic auth): {"text": text}, which
// Slack's incoming webhooks accept, or the rendered payload dict.
func (s *Sender) webhook(ctx context.Context, c *operators.Call, n *dags.Notifier) error {
	conn, err := connection(ctx, c, n.ConnID)
	if err != nil {
		return fmt.Errorf("webhook notifier: %w", err)
	}
	slack := slices.Contains(SlackWebhookTypes, conn.Type)
	req := &httpop.Request{Method: "POST", ConnID: n.ConnID, Headers: map[string]string{"Content-Type": "application/json"}}
	var target *url.URL
	if slack {
		target, err = slackURL(conn)
		if err == nil {
			req.ConnID, req.URL = "", target.String()
		}
	} else {
		target, err = httpop.ResolveURL(conn, "")
	}
	if err != nil {
		return fmt.Errorf("webhook notifier: connection %q has no usable URL (set its host, e.g. https://hooks.example.com/services/…)", n.ConnID)
	}
	scrub := urlScrubber(n.ConnID, target.String(), target.Redacted(), target.Path, conn.Password)
	var body any
	if p, ok := n.Args["payload"]; ok && p != nil {
		if body, err = operators.RenderValue(ctx, c, p); err != nil {
			return fmt.Errorf("webhook notifier: render payload: %s", scrub(err.Error()))
		}
	} else {
		text, err := renderString(ctx, c, n, "text", dags.DefaultNotifierText)
		if err != nil {
			return fmt.Errorf("webhook notifier: %s", scrub(err.Error()))
		}
		body = map[string]any{"text": text}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("webhook notifier: payload: %w", err)
	}
	req.Body = data
	resp, err := httpop.Do(ctx, s.Client, c, req)
	if err != nil {
		return fmt.Errorf("webhook notifier: %s", scrub(err.Error()))
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook notifier: POST to connection %s: status %d %s: %s", n.ConnID, resp.StatusCode, resp.Reason,
			scrub(httpop.Excerpt(resp.Body)))
	}
	return nil
}

// SlackWebhookTypes are the connection types of Airflow's Slack incoming
// webhook connections: the URL is the host (default hooks.slack.com/services,
// scheme from the schema, default https) followed by the password, the
// webhook token "T000/B000/XXXX", which is no basic auth.
var SlackWebhookTypes = []string{"slackwebhook", "slack_webhook"}

// slackURL is the webhook URL of a Slack webhook connection.
func slackURL(conn *operators.Connection) (*url.URL, error) {
	host := strings.TrimSpace(conn.Host)
	if host == "" {
		host = "hooks.slack.com/services"
	}
	if !strings.Contains(host, "://") {
		scheme := conn.Schema
		if scheme == "" {
			scheme = "https"
		}
		if conn.Port != 0 {
			h, path, _ := strings.Cut(host, "/")
			host = h + ":" + strconv.Itoa(conn.Port)
			if path != "" {
				host += "/" + path
			}
		}
		host = scheme + "://" + host
	}
	full := strings.TrimSuffix(host, "/")
	if conn.Password != "" {
		full += "/" + strings.TrimPrefix(conn.Password, "/")
	}
	u, err := url.Parse(full)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("bad Slack webhook URL")
	}
	return u, nil
}

// urlScrubber returns a function that replaces the secrets of a webhook
// (its URL in every form, and the connection's password) in a message.
func urlScrubber(connID string, secrets ...string) func(string) string {
	label := fmt.Sprintf("<URL of connection %s>", connID)
	return func(s string) string {
		for i, secret := range secrets {
			if len(secret) < 2 {
				continue
			}
			repl := label
			if i == len(secrets)-1 {
				repl = "***" // the password
			}
			s = strings.ReplaceAll(s, secret, repl)
		}
		return s
	}
}
