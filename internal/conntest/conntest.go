// Package conntest checks that a connection's system answers, for
// `starflow connections test` and the web UI's Test button.
package conntest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Test tries a connection and says what it tried: postgres logs in and
// runs SELECT 1, http(s) gets the URL (an answer of 400 or more fails),
// other types open a TCP connection to host:port. The connection's
// password never appears in the error.
func Test(ctx context.Context, conn *operators.Connection) (string, error) {
	switch conn.Type {
	case "postgres", "postgresql":
		pc, err := pgx.Connect(ctx, store.ConnectionURI(conn, true))
		if err != nil {
			return "log in to PostgreSQL", redactErr(err, conn.Password)
		}
		defer pc.Close(context.Background())
		var one int
		if err := pc.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			return "SELECT 1", redactErr(err, conn.Password)
		}
		return "logged in to PostgreSQL and ran SELECT 1", nil
	case "http", "https":
		scheme := conn.Type
		host := conn.Host
		if strings.Contains(host, "://") {
			scheme, host, _ = strings.Cut(host, "://")
		}
		url := scheme + "://" + host
		if conn.Port != 0 {
			url += ":" + strconv.Itoa(conn.Port)
		}
		if conn.Schema != "" {
			url += "/" + strings.TrimPrefix(conn.Schema, "/")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "GET " + url, err
		}
		if conn.Login != "" {
			req.SetBasicAuth(conn.Login, conn.Password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "GET " + url, err
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return "GET " + url, fmt.Errorf("HTTP %s", resp.Status)
		}
		return fmt.Sprintf("GET %s: HTTP %s", url, resp.Status), nil
	}
	if conn.Host == "" || conn.Port == 0 {
		return "a TCP connection", fmt.Errorf("%s connections are tested by opening host:port, and this one has no host or port", conn.Type)
	}
	addr := net.JoinHostPort(conn.Host, strconv.Itoa(conn.Port))
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "TCP connection to " + addr, err
	}
	nc.Close()
	return "opened a TCP connection to " + addr, nil
}

// redactErr removes a password from an error's text.
func redactErr(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "***"))
}
