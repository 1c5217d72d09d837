package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	nethttp "net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// MaxBody bounds the response body read into memory (and into an XCom).
const MaxBody = 16 << 20

// LogBodyLimit is how much of a body the task log shows.
const LogBodyLimit = 1024

// Request is one HTTP request, as the http operator and the http module of
// task functions describe it.
type Request struct {
	// Method is GET, POST, ...; empty means GET.
	Method string
	// URL is absolute, or relative to the connection's base URL.
	URL string
	// ConnID names a connection giving the base URL, basic auth and
	// default headers; empty means none.
	ConnID string
	// Headers are added after the connection's, replacing them.
	Headers map[string]string
	// Body is the request body; nil sends none.
	Body []byte
	// Timeout bounds the request, body included; zero means no bound
	// besides ctx.
	Timeout time.Duration
}

// Response is a response read in full.
type Response struct {
	StatusCode int
	// Reason is the status text, e.g. "Not Found".
	Reason string
	Header nethttp.Header
	Body   []byte
	// URL is the final URL, credentials removed.
	URL string
}

// Text returns the body as a string; bytes that are not UTF-8 become
// U+FFFD, as requests' response.text does.
func (r *Response) Text() string {
	if utf8.Valid(r.Body) {
		return string(r.Body)
	}
	return strings.ToValidUTF8(string(r.Body), "\uFFFD")
}

// IsJSON reports whether the response's Content-Type is JSON
// (application/json or a +json type).
func (r *Response) IsJSON() bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// JSON parses the body as JSON into plain values (nil, bool, int64,
// float64, string, []any, map[string]any).
func (r *Response) JSON() (any, error) {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("response body is not JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("response body is not JSON: data after the value")
	}
	return plain(v), nil
}

// plain replaces json.Number values by int64 or float64.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
	}
	return v
}

// Dict returns the response as the dict given to response_check and
// response_filter: status_code, reason, url, text, headers (names in
// canonical form, several values joined with ", ") and json (the parsed
// body when the response is JSON, otherwise None).
func (r *Response) Dict() map[string]any {
	headers := make(map[string]any, len(r.Header))
	for k, vs := range r.Header {
		headers[k] = strings.Join(vs, ", ")
	}
	var js any
	if r.IsJSON() {
		js, _ = r.JSON()
	}
	return map[string]any{
		"status_code": int64(r.StatusCode),
		"reason":      r.Reason,
		"url":         r.URL,
		"text":        r.Text(),
		"headers":     headers,
		"json":        js,
	}
}

// StatusError is a response with a status of 400 or more.
type StatusError struct {
	Method, URL string
	StatusCode  int
	Reason      string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %s %s: status %d %s", e.Method, e.URL, e.StatusCode, e.Reason)
}

// errTimeout is the cause of a request's own timeout.
var errTimeout = errors.New("request timeout")

// Do sends req on behalf of the task instance of c, reading the
// connection req.ConnID through c.Connections, and returns the response
// read in full (at most MaxBody bytes). A status of 400 or more is not an
// error here; see StatusError. Errors never contain the connection's
// password or the request's headers.
func Do(ctx context.Context, client *nethttp.Client, c *operators.Call, req *Request) (*Response, error) {
	if client == nil {
		client = nethttp.DefaultClient
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = nethttp.MethodGet
	}
	var conn *operators.Connection
	if req.ConnID != "" {
		if c == nil || c.Connections == nil {
			return nil, fmt.Errorf("connection %q: no connections are available", req.ConnID)
		}
		var err error
		if conn, err = c.Connections.Get(ctx, req.ConnID); err != nil {
			return nil, fmt.Errorf("connection %q: %w", req.ConnID, err)
		}
	}
	target, err := resolveURL(conn, req.URL)
	if err != nil {
		return nil, err
	}
	shown := redactURL(target)
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, req.Timeout, errTimeout)
		defer cancel()
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := nethttp.NewRequestWithContext(ctx, method, target.String(), body)
	if err != nil {
		return nil, fmt.Errorf("HTTP %s %s: %w", method, shown, err)
	}
	hreq.Header.Set("User-Agent", "starflow")
	if conn != nil {
		for _, k := range slices.Sorted(maps.Keys(conn.Extra)) {
			if s, ok := conn.Extra[k].(string); ok && validHeaderName(k) {
				hreq.Header.Set(k, s)
			}
		}
		if conn.Login != "" || conn.Password != "" {
			hreq.SetBasicAuth(conn.Login, conn.Password)
		}
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, requestError(ctx, method, shown, req.Timeout, err, conn)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, requestError(ctx, method, shown, req.Timeout, fmt.Errorf("read the response: %w", err), conn)
	}
	if len(data) > MaxBody {
		return nil, fmt.Errorf("HTTP %s %s: the response body is larger than %d MiB", method, shown, MaxBody>>20)
	}
	final := shown
	if resp.Request != nil && resp.Request.URL != nil {
		final = redactURL(resp.Request.URL)
	}
	return &Response{
		StatusCode: resp.StatusCode,
		Reason:     strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode))),
		Header:     resp.Header,
		Body:       data,
		URL:        final,
	}, nil
}

// requestError describes a failed request, naming the timeout when it
// was the request's own, and without the connection's password.
func requestError(ctx context.Context, method, shown string, timeout time.Duration, err error, conn *operators.Connection) error {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return fmt.Errorf("HTTP %s %s: no complete response within the timeout of %s", method, shown, dags.FormatDuration(timeout))
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	if conn != nil && conn.Password != "" {
		msg = strings.ReplaceAll(msg, conn.Password, "***")
	}
	if ctx.Err() != nil {
		return fmt.Errorf("HTTP %s %s: %s: %w", method, shown, msg, context.Cause(ctx))
	}
	return fmt.Errorf("HTTP %s %s: %s", method, shown, msg)
}

// ResolveURL returns the URL a request for raw goes to: raw itself when
// it is absolute or conn is nil, otherwise raw joined to the connection's
// base URL, as Do resolves it.
func ResolveURL(conn *operators.Connection, raw string) (*url.URL, error) {
	return resolveURL(conn, raw)
}

// resolveURL returns raw, joined to the connection's base URL when conn
// is given and raw is not absolute: the connection's host (which may hold
// a scheme), its schema as the scheme ("http" by default, "https" for a
// connection of type https) and its port.
func resolveURL(conn *operators.Connection, raw string) (*url.URL, error) {
	lower := strings.ToLower(raw)
	absolute := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
	full := raw
	if conn != nil && !absolute {
		base := baseURL(conn)
		if base == "" {
			return nil, fmt.Errorf("connection %q has no host to resolve the URL %q against", conn.ID, raw)
		}
		switch {
		case raw == "":
			full = base
		case strings.HasSuffix(base, "/") || strings.HasPrefix(raw, "/"):
			full = strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(raw, "/")
		default:
			full = base + "/" + raw
		}
	}
	u, err := url.Parse(full)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %v", redactString(full), errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad URL %q: want an http:// or https:// URL (or a path with http_conn_id)", redactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("bad URL %q: no host", redactURL(u))
	}
	return u, nil
}

// baseURL returns the base URL of an HTTP connection, as Airflow's
// HttpHook builds it.
func baseURL(conn *operators.Connection) string {
	host := strings.TrimSpace(conn.Host)
	if host == "" {
		return ""
	}
	base := host
	if !strings.Contains(host, "://") {
		scheme := conn.Schema
		if scheme == "" {
			scheme = "http"
			if conn.Type == "https" {
				scheme = "https"
			}
		}
		base = scheme + "://" + host
	}
	if conn.Port != 0 {
		base = fmt.Sprintf("%s:%d", strings.TrimSuffix(base, "/"), conn.Port)
	}
	return base
}

// redactURL returns u without its password, for logs and errors.
func redactURL(u *url.URL) string { return u.Redacted() }

// redactString removes the password of a URL that did not parse.
func redactString(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.Contains(rest[:at], "/") {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return s[:i+3] + rest[:colon] + ":xxxxx" + rest[at:]
			}
		}
	}
	return s
}

// validHeaderName reports whether a connection extra named k is sent as a
// header: names of letters, digits, '-', '_' and '.', not starting with
// "__" (Airflow's internal keys such as "__extra__").
func validHeaderName(k string) bool {
	if k == "" || strings.HasPrefix(k, "__") {
		return false
	}
	for _, r := range k {
		switch {
		case r == '-' || r == '_' || r == '.':
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		default:
			return false
		}
	}
	return true
}

// Excerpt returns the first LogBodyLimit bytes of body as text for the
// task log, noting how much was left out.
func Excerpt(body []byte) string {
	if len(body) <= LogBodyLimit {
		return strings.ToValidUTF8(string(body), "\uFFFD")
	}
	return strings.ToValidUTF8(string(body[:LogBodyLimit]), "\uFFFD") + fmt.Sprintf("… (%d more bytes)", len(body)-LogBodyLimit)
}
