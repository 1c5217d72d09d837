package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Default SMTP ports: plain (with STARTTLS when offered) and implicit TLS.
const (
	DefaultSMTPPort    = 25
	DefaultSMTPSSLPort = 465
)

// email sends the notification as an HTML mail through the SMTP server of
// the connection: host and port (25, or 465 with extra ssl), login and
// password (PLAIN auth, only over TLS or to a server on loopback), extra
// ssl (implicit TLS), disable_tls (no STARTTLS) and from_email.
func (s *Sender) email(ctx context.Context, c *operators.Call, n *dags.Notifier) error {
	conn, err := connection(ctx, c, n.ConnID)
	if err != nil {
		return fmt.Errorf("email notifier: %w", err)
	}
	scrub := func(msg string) string {
		if conn.Password != "" {
			msg = strings.ReplaceAll(msg, conn.Password, "***")
		}
		return msg
	}
	to, err := recipients(n.Args["to"])
	if err != nil {
		return fmt.Errorf("email notifier: to: %w", err)
	}
	subject, err := renderString(ctx, c, n, "subject", dags.DefaultNotifierSubject)
	if err != nil {
		return fmt.Errorf("email notifier: %s", scrub(err.Error()))
	}
	html, err := renderString(ctx, c, n, "html_content", dags.DefaultNotifierHTML)
	if err != nil {
		return fmt.Errorf("email notifier: %s", scrub(err.Error()))
	}
	from := fromAddress(n, conn)
	msg, err := message(from, to, subject, html, time.Now())
	if err != nil {
		return fmt.Errorf("email notifier: %w", err)
	}
	if err := send(ctx, conn, from, to, msg); err != nil {
		return fmt.Errorf("email notifier: connection %s: %s", n.ConnID, scrub(err.Error()))
	}
	return nil
}

// recipients reads the to argument: a string (commas separate addresses)
// or a list of strings.
func recipients(v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("item %d: got %T, want string", i, e)
			}
			raw = append(raw, s)
		}
	case []string:
		raw = x
	default:
		return nil, fmt.Errorf("got %T, want a string or a list of strings", v)
	}
	var out []string
	for _, r := range raw {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if strings.ContainsAny(r, "\r\n<>") {
			return nil, fmt.Errorf("bad address %q", r)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no recipient")
	}
	return out, nil
}

// fromAddress is the notifier's from_email, the connection's extra
// from_email, its login when that is an address, or starflow@localhost.
func fromAddress(n *dags.Notifier, conn *operators.Connection) string {
	if s, ok := n.Args["from_email"].(string); ok && s != "" {
		return s
	}
	if s, ok := conn.Extra["from_email"].(string); ok && s != "" {
		return s
	}
	if strings.Contains(conn.Login, "@") {
		return conn.Login
	}
	return "starflow@localhost"
}

// message builds the mail: headers and a quoted-printable HTML body.
func message(from string, to []string, subject, html string, now time.Time) ([]byte, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("bad from address %q", from)
	}
	subject = strings.Join(strings.Fields(subject), " ") // no header injection
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/html; charset=UTF-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write([]byte(html)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// extraBool reads a boolean connection extra given as a bool or a string.
func extraBool(extra map[string]any, key string) bool {
	switch v := extra[key].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// send delivers msg through the connection's SMTP server, within ctx.
func send(ctx context.Context, conn *operators.Connection, from string, to []string, msg []byte) error {
	host := strings.TrimSpace(conn.Host)
	if host == "" {
		return fmt.Errorf("the connection has no host")
	}
	ssl := extraBool(conn.Extra, "ssl")
	port := conn.Port
	if port == 0 {
		port = DefaultSMTPPort
		if ssl {
			port = DefaultSMTPSSLPort
		}
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer raw.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()
	nc := raw
	tlsConfig := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if ssl {
		tc := tls.Client(raw, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS with %s: %w", addr, err)
		}
		nc = tc
	}
	cl, err := smtp.NewClient(nc, host)
	if err != nil {
		return fmt.Errorf("SMTP greeting of %s: %w", addr, err)
	}
	defer cl.Close()
	if !ssl && !extraBool(conn.Extra, "disable_tls") {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("STARTTLS with %s: %w", addr, err)
			}
		}
	}
	if conn.Login != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return fmt.Errorf("%s does not offer AUTH, but the connection has a login", addr)
		}
		if err := cl.Auth(smtp.PlainAuth("", conn.Login, conn.Password, host)); err != nil {
			return fmt.Errorf("log in to %s as %s: %w", addr, conn.Login, err)
		}
	}
	if err := cl.Mail(from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, r := range to {
		if err := cl.Rcpt(r); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", r, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("send the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("send the message: %w", err)
	}
	if err := cl.Quit(); err != nil {
		return fmt.Errorf("QUIT: %w", err)
	}
	return nil
}
