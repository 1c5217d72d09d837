package store

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/operators"
)

// ParseConnectionURI reads a connection in Airflow's URI form,
// conn-type://login:password@host:port/schema?key=value, into a connection
// named connID. Dashes in the scheme become underscores ("google-cloud" →
// "google_cloud"); query parameters become extras, or the JSON object of
// the single parameter __extra__ when it is given.
func ParseConnectionURI(connID, uri string) (*operators.Connection, error) {
	u, err := url.Parse(uri)
	if err != nil {
		// url.Parse's message repeats the URI, password included.
		return nil, fmt.Errorf("connection %q: URI does not parse (want type://login:password@host:port/schema?extra=value): %w", connID, ErrInvalid)
	}
	if u.Scheme == "" || u.Opaque != "" {
		return nil, fmt.Errorf("connection %q: URI needs a type:// scheme (want type://login:password@host:port/schema): %w", connID, ErrInvalid)
	}
	c := &operators.Connection{
		ID:    connID,
		Type:  strings.ReplaceAll(u.Scheme, "-", "_"),
		Host:  u.Hostname(),
		Extra: map[string]any{},
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("connection %q: bad port %q: %w", connID, p, ErrInvalid)
		}
		c.Port = port
	}
	if u.User != nil {
		c.Login = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	c.Schema = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if raw := q.Get("__extra__"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &c.Extra); err != nil {
			return nil, fmt.Errorf("connection %q: __extra__ is not a JSON object: %w", connID, ErrInvalid)
		}
		return c, nil
	}
	for k, vs := range q {
		if len(vs) == 1 {
			c.Extra[k] = vs[0]
		} else {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			c.Extra[k] = list
		}
	}
	return c, nil
}

// ConnectionURI formats c in Airflow's URI form. The password is written
// only when withPassword is set, and as xxxxx otherwise.
func ConnectionURI(c *operators.Connection, withPassword bool) string {
	u := url.URL{Scheme: strings.ReplaceAll(c.Type, "_", "-"), Host: c.Host}
	if c.Port != 0 {
		u.Host = fmt.Sprintf("%s:%d", c.Host, c.Port)
	}
	switch {
	case c.Password != "" && withPassword:
		u.User = url.UserPassword(c.Login, c.Password)
	case c.Password != "":
		u.User = url.UserPassword(c.Login, "xxxxx")
	case c.Login != "":
		u.User = url.User(c.Login)
	}
	if c.Schema != "" {
		u.Path = "/" + c.Schema
	}
	if len(c.Extra) > 0 {
		q := url.Values{}
		simple := true
		for k, v := range c.Extra {
			s, ok := v.(string)
			if !ok {
				simple = false
				break
			}
			q.Set(k, s)
		}
		if !simple {
			data, _ := json.Marshal(c.Extra)
			q = url.Values{"__extra__": {string(data)}}
		}
		u.RawQuery = encodeSorted(q)
	}
	return u.String()
}

func encodeSorted(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	return b.String()
}
