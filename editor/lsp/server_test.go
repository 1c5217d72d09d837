package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/starlark/loader"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client drives a Server over its protocol through pipes, as an editor
// does over stdio.
type client struct {
	t      *testing.T
	w      io.Writer
	r      *bufio.Reader
	nextID int
	// notes are the notifications received while waiting for responses.
	notes []map[string]any
	done  chan error
}

func startServer(t *testing.T, opts Options) *client {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	srv := New(opts)
	c := &client{t: t, w: inW, r: bufio.NewReader(outR), done: make(chan error, 1)}
	go func() {
		err := srv.Serve(context.Background(), inR, outW)
		outW.Close()
		c.done <- err
	}()
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not end")
		}
	})
	return c
}

func (c *client) send(m map[string]any) {
	c.t.Helper()
	m["jsonrpc"] = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) readMsg() map[string]any {
	c.t.Helper()
	type res struct {
		m   map[string]any
		err error
	}
	ch := make(chan res, 1)
	go func() {
		h, err := textproto.NewReader(c.r).ReadMIMEHeader()
		if err != nil {
			ch <- res{err: err}
			return
		}
		n, _ := strconv.Atoi(h.Get("Content-Length"))
		b := make([]byte, n)
		if _, err := io.ReadFull(c.r, b); err != nil {
			ch <- res{err: err}
			return
		}
		var m map[string]any
		ch <- res{m: m, err: json.Unmarshal(b, &m)}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			c.t.Fatalf("read from server: %v", r.err)
		}
		return r.m
	case <-time.After(20 * time.Second):
		c.t.Fatal("no message from the server in 20s")
	}
	return nil
}

// call sends a request and returns its result (as JSON re-decoded into
// out), keeping the notifications that come before the response.
func (c *client) call(method string, params any, out any) {
	c.t.Helper()
	c.nextID++
	id := c.nextID
	c.send(map[string]any{"id": id, "method": method, "params": params})
	for {
		m := c.readMsg()
		if _, ok := m["method"]; ok {
			c.notes = append(c.notes, m)
			continue
		}
		if int(m["id"].(float64)) != id {
			c.t.Fatalf("response to %v, want %d", m["id"], id)
		}
		if e, ok := m["error"]; ok {
			c.t.Fatalf("%s: error %v", method, e)
		}
		b, _ := json.Marshal(m["result"])
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				c.t.Fatalf("%s: decode %s: %v", method, b, err)
			}
		}
		return
	}
}

type diag struct {
	Range struct {
		Start struct{ Line, Character int } `json:"start"`
		End   struct{ Line, Character int } `json:"end"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// diagnostics waits for the diagnostics of uri at version.
func (c *client) diagnostics(uri string, version int) []diag {
	c.t.Helper()
	for i := 0; ; i++ {
		var m map[string]any
		if i < len(c.notes) {
			m = c.notes[i]
		} else {
			m = c.readMsg()
			c.notes = append(c.notes, m)
		}
		if m["method"] != "textDocument/publishDiagnostics" {
			continue
		}
		b, _ := json.Marshal(m["params"])
		var p struct {
			URI         string `json:"uri"`
			Version     int    `json:"version"`
			Diagnostics []diag `json:"diagnostics"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			c.t.Fatal(err)
		}
		if p.URI == uri && p.Version == version {
			c.notes = c.notes[i+1:]
			return p.Diagnostics
		}
	}
}

func fileURI(path string) string { return string(pathURI(path)) }

const libStar = `def make_cmd(word):
    return "echo " + word
`

// etlStar is the buffer: unsaved (the file on disk is empty), with a
// misspelt keyword on line 6 (0-based 5).
const etlStar = `load("//lib.star", "make_cmd")

def pull(ctx):
    return ctx.xcom_pull("fetch")

def build():
    fetch = http(task_id = "fetch", urll = "https://example.com")
    say = bash(task_id = "say", bash_command = make_cmd("hi"), retries = 2, env = {"DAY": "{{ ds_nodash }}"})
    fetch >> say

dag(dag_id = "etl", build = build, schedule = None)
`

func pos(text, marker string, delta int) map[string]int {
	off := strings.Index(text, marker)
	if off < 0 {
		panic("no marker " + marker)
	}
	p := position(text, off+delta)
	return map[string]int{"line": int(p.Line), "character": int(p.Character)}
}

// TestServerOverItsProtocol starts the server on pipes and plays an
// editor's session: initialize, open an unsaved buffer, diagnostics,
// completion, hover, signature help, definition, symbols, an edit that
// fixes the error, shutdown and exit.
func TestServerOverItsProtocol(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"lib.star": libStar, "etl.star": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	specs := stdlib.Specs()
	c := startServer(t, Options{Loader: loader.New(loader.Options{Operators: specs}), Operators: specs, DAGsFolder: dir, Debounce: 20 * time.Millisecond})

	var init struct {
		Capabilities map[string]any        `json:"capabilities"`
		ServerInfo   struct{ Name string } `json:"serverInfo"`
	}
	c.call("initialize", map[string]any{"processId": nil, "rootUri": fileURI(dir), "capabilities": map[string]any{}}, &init)
	for _, capability := range []string{"completionProvider", "hoverProvider", "signatureHelpProvider", "definitionProvider", "documentSymbolProvider", "textDocumentSync"} {
		if init.Capabilities[capability] == nil {
			t.Errorf("initialize: no %s in %v", capability, init.Capabilities)
		}
	}
	if init.ServerInfo.Name != "starflow" {
		t.Errorf("serverInfo = %+v", init.ServerInfo)
	}
	c.send(map[string]any{"method": "initialized", "params": map[string]any{}})

	uri := fileURI(filepath.Join(dir, "etl.star"))
	doc := map[string]any{"uri": uri}
	c.send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": "starlark", "version": 1, "text": etlStar}}})

	t.Run("diagnostics of the unsaved buffer", func(t *testing.T) {
		ds := c.diagnostics(uri, 1)
		if len(ds) != 1 {
			t.Fatalf("diagnostics = %+v, want one", ds)
		}
		d := ds[0]
		if d.Code != "import-error" || d.Severity != 1 || !strings.Contains(d.Message, "urll") || !strings.Contains(d.Message, "url") {
			t.Errorf("diagnostic = %+v, want an import-error naming urll", d)
		}
		if d.Range.Start.Line != 6 {
			t.Errorf("diagnostic at line %d, want 6 (the http call)", d.Range.Start.Line)
		}
	})

	t.Run("completion", func(t *testing.T) {
		labels := func(p map[string]int) map[string]string {
			var list struct {
				Items []struct {
					Label  string `json:"label"`
					Detail string `json:"detail"`
				} `json:"items"`
			}
			c.call("textDocument/completion", map[string]any{"textDocument": doc, "position": p}, &list)
			out := map[string]string{}
			for _, it := range list.Items {
				out[it.Label] = it.Detail
			}
			return out
		}
		kws := labels(pos(etlStar, `urll =`, 0))
		for _, want := range []string{"url =", "method =", "retries =", "task_id ="} {
			if _, ok := kws[want]; !ok {
				t.Errorf("keywords in http(: no %q in %v", want, kws)
			}
		}
		if !strings.Contains(kws["method ="], `default "GET"`) {
			t.Errorf("detail of method = %q, want its default", kws["method ="])
		}
		top := labels(pos(etlStar, "dag(dag_id", 0))
		for _, want := range []string{"bash", "http", "dag", "sql", "build", "make_cmd"} {
			if _, ok := top[want]; !ok {
				t.Errorf("top level: no %q", want)
			}
		}
		ids := labels(pos(etlStar, `"fetch")`, 1))
		if _, ok := ids["say"]; !ok || len(ids) != 2 {
			t.Errorf("in xcom_pull(\"…\"): %v, want the task ids fetch and say", ids)
		}
		tmpl := labels(pos(etlStar, "{{ ds_nodash", len("{{ ")))
		if !strings.Contains(tmpl["ds_nodash"], "YYYYMMDD") || tmpl["logical_date"] == "" {
			t.Errorf("in {{ }}: %v, want the template variables", tmpl)
		}
		if _, ok := tmpl["bash"]; ok {
			t.Errorf("in {{ }}: builtins offered: %v", tmpl)
		}
		shift := labels(pos(etlStar, "fetch >> say", len("fetch >> ")))
		if shift["fetch"] != "http task" || shift["say"] != "bash task" {
			t.Errorf("in >>: %v, want the task variables", shift)
		}
	})

	t.Run("hover", func(t *testing.T) {
		var h struct {
			Contents struct{ Kind, Value string } `json:"contents"`
		}
		c.call("textDocument/hover", map[string]any{"textDocument": doc, "position": pos(etlStar, "http(", 1)}, &h)
		if h.Contents.Kind != "markdown" || !strings.Contains(h.Contents.Value, "http(task_id, url") || !strings.Contains(h.Contents.Value, "- `method`: string, default \"GET\"") {
			t.Errorf("hover on http = %q", h.Contents.Value)
		}
		c.call("textDocument/hover", map[string]any{"textDocument": doc, "position": pos(etlStar, "bash_command", 2)}, &h)
		if !strings.Contains(h.Contents.Value, "bash_command") {
			t.Errorf("hover on bash_command = %q", h.Contents.Value)
		}
		c.call("textDocument/hover", map[string]any{"textDocument": doc, "position": pos(etlStar, "ds_nodash }}", 3)}, &h)
		if !strings.Contains(h.Contents.Value, "template variable") || !strings.Contains(h.Contents.Value, "YYYYMMDD") {
			t.Errorf("hover on {{ ds_nodash }} = %q", h.Contents.Value)
		}
	})

	t.Run("signature help", func(t *testing.T) {
		var sh struct {
			Signatures []struct {
				Label      string `json:"label"`
				Parameters []struct {
					Label []int `json:"label"`
				} `json:"parameters"`
			} `json:"signatures"`
			ActiveParameter *int `json:"activeParameter"`
		}
		c.call("textDocument/signatureHelp", map[string]any{"textDocument": doc, "position": pos(etlStar, `"https://`, 0)}, &sh)
		if len(sh.Signatures) != 1 || !strings.HasPrefix(sh.Signatures[0].Label, "http(task_id, url") {
			t.Fatalf("signature help = %+v", sh)
		}
		if sh.ActiveParameter != nil {
			t.Errorf("active parameter for urll = %d, want none (not a keyword of http)", *sh.ActiveParameter)
		}
		l := sh.Signatures[0].Label
		if p := sh.Signatures[0].Parameters[1].Label; l[p[0]:p[1]] != "url" {
			t.Errorf("parameter 1 = %q, want url", l[p[0]:p[1]])
		}
		c.call("textDocument/signatureHelp", map[string]any{"textDocument": doc, "position": pos(etlStar, `task_id = "fetch"`, 12)}, &sh)
		if sh.ActiveParameter == nil || *sh.ActiveParameter != 0 {
			t.Errorf("active parameter in task_id = %v, want 0", sh.ActiveParameter)
		}
	})

	t.Run("definition", func(t *testing.T) {
		type loc struct {
			URI   string `json:"uri"`
			Range struct {
				Start struct{ Line, Character int } `json:"start"`
			} `json:"range"`
		}
		var l loc
		c.call("textDocument/definition", map[string]any{"textDocument": doc, "position": pos(etlStar, `make_cmd("hi")`, 2)}, &l)
		if l.URI != fileURI(filepath.Join(dir, "lib.star")) || l.Range.Start.Line != 0 || l.Range.Start.Character != 4 {
			t.Errorf("definition of make_cmd = %+v, want lib.star:1:5", l)
		}
		c.call("textDocument/definition", map[string]any{"textDocument": doc, "position": pos(etlStar, "build = build", 9)}, &l)
		if l.URI != uri || l.Range.Start.Line != 5 || l.Range.Start.Character != 4 {
			t.Errorf("definition of build = %+v, want etl.star:6:5", l)
		}
		c.call("textDocument/definition", map[string]any{"textDocument": doc, "position": pos(etlStar, "lib.star", 0)}, &l)
		if l.URI != fileURI(filepath.Join(dir, "lib.star")) {
			t.Errorf("definition on the load() module = %+v", l)
		}
	})

	// Fix the keyword: the error goes; symbols show the DAG and its tasks.
	fix := pos(etlStar, "urll", 0)
	c.send(map[string]any{"method": "textDocument/didChange", "params": map[string]any{
		"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{
			"range": map[string]any{"start": fix, "end": map[string]int{"line": fix["line"], "character": fix["character"] + 4}},
			"text":  "url"}}}})
	t.Run("an edit clears the error; lint warnings carry their rule", func(t *testing.T) {
		ds := c.diagnostics(uri, 2)
		if len(ds) != 1 || ds[0].Code != "retries-without-retry-delay" || ds[0].Severity != 2 || ds[0].Range.Start.Line != 7 {
			t.Errorf("diagnostics after the fix = %+v, want one warning retries-without-retry-delay on line 7", ds)
		}
	})

	t.Run("an open buffer of a loaded file is what load() reads", func(t *testing.T) {
		c.send(map[string]any{"method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{
			"uri": fileURI(filepath.Join(dir, "lib.star")), "languageId": "starlark", "version": 1, "text": "def make_cmd():\n    return \"echo\"\n"}}})
		ds := c.diagnostics(uri, 2)
		if len(ds) == 0 || ds[0].Code != "import-error" || !strings.Contains(ds[0].Message, "make_cmd") {
			t.Errorf("diagnostics of etl.star after lib.star's buffer changed = %+v, want make_cmd's call to fail", ds)
		}
		c.send(map[string]any{"method": "textDocument/didClose", "params": map[string]any{"textDocument": map[string]any{"uri": fileURI(filepath.Join(dir, "lib.star"))}}})
	})

	t.Run("document symbols", func(t *testing.T) {
		type sym struct {
			Name  string `json:"name"`
			Kind  int    `json:"kind"`
			Range struct {
				Start struct{ Line int } `json:"start"`
			} `json:"range"`
			Children []sym `json:"children"`
		}
		var syms []sym
		c.call("textDocument/documentSymbol", map[string]any{"textDocument": doc}, &syms)
		if len(syms) != 1 || syms[0].Name != "etl" || len(syms[0].Children) != 2 {
			t.Fatalf("symbols = %+v, want DAG etl with 2 tasks", syms)
		}
		if ch := syms[0].Children; ch[0].Name != "fetch" || ch[0].Range.Start.Line != 6 || ch[1].Name != "say" || ch[1].Range.Start.Line != 7 {
			t.Errorf("tasks = %+v, want fetch at line 6 and say at line 7", ch)
		}
	})

	c.call("shutdown", nil, nil)
	c.send(map[string]any{"method": "exit"})
	// An editor reads until the stream ends: diagnostics may still come.
	go io.Copy(io.Discard, c.r)
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
		c.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit")
	}
}
