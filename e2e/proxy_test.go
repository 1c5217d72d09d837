package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/starflow-dev/starflow/runtime/queue/redisqueue/redistest"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// countingProxy forwards TCP connections to a server and counts, over all
// of them, the requests the clients send (as the protocol's parser sees
// them) and the round trips: the times a client sends again after the
// server has answered, so that a pipelined batch counts once.
type countingProxy struct {
	ln         net.Listener
	target     string
	newParser  func() requestParser
	requests   atomic.Int64
	roundTrips atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// requestParser counts the requests in a client's byte stream, fed in
// chunks as they arrive.
type requestParser interface {
	feed(p []byte) (requests int)
}

// startProxy listens on a free port of 127.0.0.1 and forwards to target
// until tb ends.
func startProxy(tb testing.TB, target string, newParser func() requestParser) *countingProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &countingProxy{ln: ln, target: target, newParser: newParser, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *countingProxy) Addr() string { return p.ln.Addr().String() }

// Counts returns the requests and round trips so far.
func (p *countingProxy) Counts() (requests, roundTrips int64) {
	return p.requests.Load(), p.roundTrips.Load()
}

func (p *countingProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		var answered atomic.Bool
		answered.Store(true)
		p.wg.Add(2)
		go p.pipe(c, s, func([]byte) {
			if answered.Swap(false) {
				p.roundTrips.Add(1)
			}
		}, p.newParser())
		go p.pipe(s, c, func([]byte) { answered.Store(true) }, nil)
	}
}

// pipe copies from src to dst, calling seen on each chunk and counting
// requests with parser when there is one; it closes both ends when done.
func (p *countingProxy) pipe(src, dst net.Conn, seen func([]byte), parser requestParser) {
	defer p.wg.Done()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			// Count before forwarding, so the counts never lag behind
			// what the server has seen.
			if parser != nil {
				p.requests.Add(int64(parser.feed(buf[:n])))
			}
			seen(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF, or a closed connection
		}
	}
}

func (p *countingProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// pgParser counts the statements a PostgreSQL client runs: simple Query
// ('Q') and extended-protocol Execute ('E') messages. The first message of
// a connection (and any SSL or GSS request before it) has no type byte.
type pgParser struct {
	startup bool
	head    []byte // the message header being read
	skip    int    // body bytes of the current message still to skip
}

func newPGParser() requestParser { return &pgParser{startup: true} }

func (pp *pgParser) feed(p []byte) int {
	n := 0
	for len(p) > 0 {
		if pp.skip > 0 {
			k := min(pp.skip, len(p))
			pp.skip -= k
			p = p[k:]
			continue
		}
		want := 5
		if pp.startup {
			want = 8
		}
		k := min(want-len(pp.head), len(p))
		pp.head = append(pp.head, p[:k]...)
		p = p[k:]
		if len(pp.head) < want {
			continue
		}
		if pp.startup {
			length := int(binary.BigEndian.Uint32(pp.head[:4]))
			code := binary.BigEndian.Uint32(pp.head[4:8])
			pp.skip = length - 8
			// SSLRequest and GSSENCRequest come before the startup message.
			pp.startup = code == 80877103 || code == 80877104
		} else {
			if pp.head[0] == 'Q' || pp.head[0] == 'E' {
				n++
			}
			pp.skip = int(binary.BigEndian.Uint32(pp.head[1:5])) - 4
		}
		pp.head = pp.head[:0]
	}
	return n
}

// respParser counts the commands a Redis client sends: RESP arrays of bulk
// strings (*N, then N times $len and the bytes), as go-redis writes them.
type respParser struct {
	line []byte // the header line being read
	args int    // bulk strings of the current command still to read
	skip int    // bytes of the current bulk string (and its CRLF) to skip
}

func newRESPParser() requestParser { return &respParser{} }

func (rp *respParser) feed(p []byte) int {
	n := 0
	for len(p) > 0 {
		if rp.skip > 0 {
			k := min(rp.skip, len(p))
			rp.skip -= k
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			rp.line = append(rp.line, p...)
			return n
		}
		rp.line = append(rp.line, p[:i+1]...)
		p = p[i+1:]
		line := bytes.TrimRight(rp.line, "\r\n")
		rp.line = rp.line[:0]
		if len(line) == 0 {
			continue
		}
		v, _ := strconv.Atoi(string(line[1:]))
		switch line[0] {
		case '*':
			if rp.args == 0 {
				n++
			}
			rp.args = v
		case '$':
			rp.skip = v + 2
			if rp.args > 0 {
				rp.args--
			}
		default: // an inline command
			if rp.args == 0 {
				n++
			}
		}
	}
	return n
}

func TestProxyCountsRedisCommandsAndRoundTrips(t *testing.T) {
	t.Parallel()
	p := startProxy(t, redisAddr(t), newRESPParser)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := func(args ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		return b.String()
	}
	exchange := func(send string, replyLen int) {
		t.Helper()
		for len(send) > 0 { // in small pieces, to cut headers and values
			k := min(len(send), 4093)
			if _, err := c.Write([]byte(send[:k])); err != nil {
				t.Fatal(err)
			}
			send = send[k:]
		}
		if _, err := io.ReadFull(c, make([]byte, replyLen)); err != nil {
			t.Fatal(err)
		}
	}
	exchange(cmd("PING"), len("+PONG\r\n"))
	key := "sftest-proxy-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	value := strings.Repeat("x\r\n*3\r\n$1\r\n", 10000) // looks like commands
	exchange(cmd("SET", key, value, "EX", "60")+cmd("GET", key)+cmd("DEL", key),
		len("+OK\r\n")+len(fmt.Sprintf("$%d\r\n", len(value)))+len(value)+2+len(":1\r\n"))
	if req, rt := p.Counts(); req != 4 || rt != 2 {
		t.Errorf("PING then a pipeline of 3: %d commands in %d round trips, want 4 in 2", req, rt)
	}
}

func TestProxyCountsSQLStatementsAndRoundTrips(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host, newPGParser)
	u.Host = p.Addr()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	for range 2 { // prepares and caches the statement
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
	}
	req0, rt0 := p.Counts()
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}
	batch := &pgx.Batch{}
	for range 3 {
		batch.Queue("SELECT 1")
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	req, rt := p.Counts()
	if req-req0 != 4 || rt-rt0 != 2 {
		t.Errorf("a query then a batch of 3: %d statements in %d round trips, want 4 in 2", req-req0, rt-rt0)
	}
}

// redisAddr returns the host:port of the test Redis.
func redisAddr(t *testing.T) string {
	t.Helper()
	o, err := redis.ParseURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return o.Addr
}
