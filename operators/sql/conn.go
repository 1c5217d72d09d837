package sql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starflow-dev/starflow/operators"
)

// DefaultConnectTimeout bounds connecting when the connection's extras set
// no connect_timeout.
const DefaultConnectTimeout = 30 * time.Second

// connTypes are the connection types the operator accepts.
var connTypes = []string{"postgres", "postgresql", "postgres_sql", ""}

// ignoredExtras are extras Airflow's Postgres connections may hold that
// are no libpq parameters; they are not sent to the server.
var ignoredExtras = []string{
	"cursor", "iam", "aws_conn_id", "redshift", "redshift-serverless", "cluster-identifier",
	"workgroup-name", "enable_log_db_messages", "sqlalchemy_scheme", "sqlalchemy_options",
}

// Connect opens a connection to the PostgreSQL database of connection
// connID, read through c.Connections. The caller closes it. Errors never
// contain the connection's password.
func Connect(ctx context.Context, c *operators.Call, connID string) (*pgx.Conn, error) {
	conn, cfg, err := connectionConfig(ctx, c, connID)
	if err != nil {
		return nil, err
	}
	pc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connection %q: connect to %s: %s", connID, describeConn(conn), scrub(err.Error(), conn.Password))
	}
	return pc, nil
}

// connectionConfig reads connection connID through c.Connections and
// returns it with its pgx configuration.
func connectionConfig(ctx context.Context, c *operators.Call, connID string) (*operators.Connection, *pgx.ConnConfig, error) {
	if connID == "" {
		return nil, nil, errors.New("no conn_id given")
	}
	if c == nil || c.Connections == nil {
		return nil, nil, fmt.Errorf("connection %q: no connections are available", connID)
	}
	conn, err := c.Connections.Get(ctx, connID)
	if err != nil {
		return nil, nil, fmt.Errorf("connection %q: %w", connID, err)
	}
	cfg, err := connConfig(conn)
	if err != nil {
		return nil, nil, err
	}
	return conn, cfg, nil
}

// connConfig builds the pgx configuration of a connection: host, port,
// schema as the database, login and password, and the string extras as
// libpq parameters.
func connConfig(conn *operators.Connection) (*pgx.ConnConfig, error) {
	if !slices.Contains(connTypes, conn.Type) {
		return nil, fmt.Errorf("connection %q is of type %q; the sql operator needs a postgres connection", conn.ID, conn.Type)
	}
	u := url.URL{Scheme: "postgres", Host: conn.Host}
	if conn.Port != 0 {
		u.Host = net.JoinHostPort(conn.Host, strconv.Itoa(conn.Port))
	}
	switch {
	case conn.Password != "":
		u.User = url.UserPassword(conn.Login, conn.Password)
	case conn.Login != "":
		u.User = url.User(conn.Login)
	}
	if conn.Schema != "" {
		u.Path = "/" + conn.Schema
	}
	q := url.Values{}
	for k, v := range conn.Extra {
		s, ok := v.(string)
		if !ok || slices.Contains(ignoredExtras, k) {
			continue
		}
		q.Set(k, s)
	}
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", strconv.Itoa(int(DefaultConnectTimeout/time.Second)))
	}
	u.RawQuery = q.Encode()
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("connection %q: %s", conn.ID, scrub(err.Error(), conn.Password))
	}
	return cfg, nil
}

// describeConn names a connection's server for messages: login, host,
// port and database, never the password.
func describeConn(conn *operators.Connection) string {
	host := conn.Host
	if host == "" {
		host = "localhost"
	}
	if conn.Port != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(conn.Port))
	}
	s := host
	if conn.Schema != "" {
		s += "/" + conn.Schema
	}
	if conn.Login != "" {
		s = conn.Login + "@" + s
	}
	return s
}

// scrub replaces every occurrence of secret in s.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	s = strings.ReplaceAll(s, secret, "***")
	return strings.ReplaceAll(s, url.QueryEscape(secret), "***")
}

// closeConn closes pc with a bounded context of its own, so that a
// cancelled try still ends its session politely.
func closeConn(pc *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = pc.Close(ctx)
}
