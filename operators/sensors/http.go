package sensors

import (
	"context"
	"errors"
	"fmt"
	nethttp "net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/starflow-dev/starflow/operators"
	httpop "github.com/starflow-dev/starflow/operators/http"
)

// HTTPKind is the operator kind of HTTP sensors.
const HTTPKind = "http_sensor"

// HTTPSensor waits for an HTTP endpoint to answer, as Airflow's
// HttpSensor: a 2xx response (for which response_check, when given, is
// truthy) ends the wait; 404 means "not yet"; any other status of 400 or
// more, or a request that fails, fails the try (retries apply).
type HTTPSensor struct {
	Base
	// Client sends the requests; nil means http.DefaultClient.
	Client *nethttp.Client
}

var (
	_ operators.Operator  = (*HTTPSensor)(nil)
	_ operators.Specified = (*HTTPSensor)(nil)
)

// Spec describes the arguments of HTTP sensors.
func (*HTTPSensor) Spec() operators.Spec {
	return newSpec(HTTPKind, "Waits for an HTTP endpoint to answer 2xx (and response_check to pass).", 1,
		operators.Param{Name: "endpoint", Type: operators.ParamString, Required: true, Templated: true,
			Doc: "the URL, or a path relative to the connection's base URL when http_conn_id is given; a template"},
		operators.Param{Name: "method", Type: operators.ParamString, Default: "GET", Choices: httpop.Methods,
			Doc: "the HTTP method"},
		operators.Param{Name: "http_conn_id", Type: operators.ParamString,
			Doc: "a connection giving the base URL, basic auth and headers, as for http"},
		operators.Param{Name: "headers", Type: operators.ParamDict, Templated: true,
			Doc: "request headers; the values are templates"},
		operators.Param{Name: "request_params", Type: operators.ParamDict, Templated: true,
			Doc: "query parameters (GET, HEAD, DELETE, OPTIONS) or a form body (other methods); the values are templates"},
		operators.Param{Name: "response_check", Type: operators.ParamFunction,
			Doc: "a function called with the response dict; a falsy result means not yet"},
		operators.Param{Name: "request_timeout", Type: operators.ParamDuration,
			Doc: "how long one request may take (default: no limit besides execution_timeout)"},
	)
}

// Execute pokes the endpoint until it answers.
func (s *HTTPSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	req := &httpop.Request{
		Method:  a.String("method"),
		URL:     a.String("endpoint"),
		ConnID:  a.String("http_conn_id"),
		Timeout: a.Duration("request_timeout"),
		Headers: map[string]string{},
	}
	for k, v := range a.Dict("headers") {
		sv, ok := v.(string)
		if !ok {
			return nil, operators.Fail(fmt.Errorf("http_sensor: headers[%q] must be a string, got %T", k, v))
		}
		req.Headers[k] = sv
	}
	if params := a.Dict("request_params"); len(params) > 0 {
		form, err := encodeParams(params)
		if err != nil {
			return nil, operators.Fail(fmt.Errorf("http_sensor: request_params: %w", err))
		}
		switch req.Method {
		case "GET", "HEAD", "DELETE", "OPTIONS":
			sep := "?"
			if strings.Contains(req.URL, "?") {
				sep = "&"
			}
			req.URL += sep + form
		default:
			req.Body = []byte(form)
			if _, ok := headerValue(req.Headers, "Content-Type"); !ok {
				req.Headers["Content-Type"] = "application/x-www-form-urlencoded"
			}
		}
	}
	check := a.String("response_check")
	if check != "" && c.Functions == nil {
		return nil, operators.Fail(errors.New("http_sensor: response_check needs a function runner"))
	}
	target := req.URL
	if req.ConnID != "" {
		target = fmt.Sprintf("%s (connection %s)", req.URL, req.ConnID)
	}
	return s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
		resp, err := httpop.Do(ctx, s.Client, c, req)
		if err != nil {
			return false, fmt.Errorf("http_sensor: %w", err)
		}
		if resp.StatusCode == nethttp.StatusNotFound {
			c.Logf("Poking %s %s: 404 Not Found: not yet", req.Method, target)
			return false, nil
		}
		if resp.StatusCode >= 400 {
			c.Logf("Response body: %s", httpop.Excerpt(resp.Body))
			return false, fmt.Errorf("http_sensor: %w", &httpop.StatusError{Method: req.Method, URL: resp.URL, StatusCode: resp.StatusCode, Reason: resp.Reason})
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			c.Logf("Poking %s %s: %d %s: not yet", req.Method, target, resp.StatusCode, resp.Reason)
			return false, nil
		}
		if check != "" {
			ok, err := c.Functions.CallFunction(ctx, c, check, []any{resp.Dict()}, nil)
			if err != nil {
				return false, fmt.Errorf("http_sensor: response_check: %w", err)
			}
			if !operators.Truthy(ok) {
				c.Logf("Poking %s %s: %d %s, response_check returned %s: not yet", req.Method, target, resp.StatusCode, resp.Reason, operators.PyRepr(ok))
				return false, nil
			}
		}
		c.Logf("Poking %s %s: %d %s: done", req.Method, target, resp.StatusCode, resp.Reason)
		return true, nil
	})
}

// encodeParams encodes request_params as a query string, keys sorted;
// a list value repeats its key.
func encodeParams(params map[string]any) (string, error) {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	add := func(k string, v any) error {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case bool:
			s = "False"
			if x {
				s = "True"
			}
		case int64, float64, int:
			s = fmt.Sprint(x)
		default:
			return fmt.Errorf("%s: got %T, want a string, number, bool or a list of them", k, v)
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(s))
		return nil
	}
	for _, k := range keys {
		if l, ok := params[k].([]any); ok {
			for _, v := range l {
				if err := add(k, v); err != nil {
					return "", err
				}
			}
			continue
		}
		if err := add(k, params[k]); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func headerValue(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if nethttp.CanonicalHeaderKey(k) == name {
			return v, true
		}
	}
	return "", false
}
