package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

const (
	ordersURI    = "s3://warehouse/orders"
	customersURI = "s3://warehouse/customers"
)

// datasetURL is the detail view of uri as the pages link it.
func datasetURL(uri string) string {
	return "/datasets?uri=" + strings.NewReplacer(":", "%3A", "/", "%2F").Replace(uri)
}

// recordEvents records dataset events at at and returns them.
func recordEvents(t *testing.T, st store.Store, at time.Time, events ...store.DatasetEventCreate) []*store.DatasetEvent {
	t.Helper()
	out, err := st.DatasetEventsCreate(context.Background(), &store.DatasetEventsCreateParams{Events: events, Timestamp: at})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rowOf returns the table row whose attribute attr is value, on one line.
func rowOf(body, attr, value string) string {
	flat := strings.ReplaceAll(body, "\n", " ")
	return regexp.MustCompile(`<tr [^>]*` + attr + `="` + regexp.QuoteMeta(value) + `"[^>]*>.*?</tr>`).FindString(flat)
}

// datasetDAGs writes a DAG folder where orders_etl updates two datasets
// and orders_report is scheduled on both, and returns it.
func datasetDAGs(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "datasets.star"), `
orders = dataset("s3://warehouse/orders")
customers = dataset("s3://warehouse/customers")

def orders_etl():
    bash(task_id = "load_orders", bash_command = "echo", outlets = [orders])
    bash(task_id = "load_customers", bash_command = "echo", outlets = [customers])

dag(dag_id = "orders_etl", build = orders_etl, schedule = "@daily", start_date = "2024-01-01")

dag(dag_id = "orders_report", build = lambda: bash(task_id = "report", bash_command = "echo"), schedule = [orders, customers])
`)
	return dir
}

func TestDatasetsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, datasetDAGs(t))
	ctx := context.Background()
	run := e.trigger(t, "orders_etl", day)
	at := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	src := func(uri, task string, mapIndex int) store.DatasetEventCreate {
		return store.DatasetEventCreate{URI: uri, SourceDagID: "orders_etl", SourceRunID: run.RunID, SourceTaskID: task, SourceMapIndex: mapIndex}
	}
	// An update from before orders_report existed: it does not count for it.
	recordEvents(t, e.store, day, store.DatasetEventCreate{URI: customersURI, SourceMapIndex: store.NoMapIndex})
	first := recordEvents(t, e.store, at, src(ordersURI, "load_orders", store.NoMapIndex))
	recordEvents(t, e.store, at.Add(time.Second), src(ordersURI, "load_orders", 2),
		store.DatasetEventCreate{URI: "s3://elsewhere/x", SourceMapIndex: store.NoMapIndex, Extra: map[string]any{"rows": 42}})
	second := recordEvents(t, e.store, at.Add(2*time.Second), src(ordersURI, "load_orders", store.NoMapIndex))[0]

	tiPage := "/dags/orders_etl/runs/" + url.PathEscape(run.RunID) + "/tasks/load_orders"
	t.Run("the list shows each dataset's events, last producer and scheduled DAGs", func(t *testing.T) {
		code, body := get(t, e.as(auth.RoleViewer), "/datasets")
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		mustContain(t, body, `<a href="/datasets" class="active">Datasets</a>`)
		uris := regexp.MustCompile(`<tr data-dataset="([^"]+)">`).FindAllStringSubmatch(body, -1)
		if len(uris) != 3 || uris[0][1] != "s3://elsewhere/x" || uris[1][1] != customersURI || uris[2][1] != ordersURI {
			t.Fatalf("rows %v, want elsewhere, customers, orders", uris)
		}
		orders := rowOf(body, "data-dataset", ordersURI)
		mustContain(t, orders, `href="`+datasetURL(ordersURI)+`"`, `<td class="events">3</td>`, fmtSecond(at.Add(2*time.Second)),
			`<a href="`+tiPage+`">orders_etl.load_orders</a>`, `<a href="/dags/orders_etl/grid">orders_etl.load_orders</a>`,
			`<a href="/dags/orders_report/grid">orders_report</a>`)
		customers := rowOf(body, "data-dataset", customersURI)
		mustContain(t, customers, `<td class="events">1</td>`, fmtSecond(day), `<td class="last-producer">—</td>`, `<a href="/dags/orders_report/grid">orders_report</a>`)
		other := rowOf(body, "data-dataset", "s3://elsewhere/x")
		mustContain(t, other, `<td class="events">1</td>`, `<td class="last-producer">—</td>`, `<td class="consumers">—</td>`)
	})

	t.Run("the detail view lists events newest first and what the consumer waits for", func(t *testing.T) {
		code, body := get(t, e.as(auth.RoleViewer), datasetURL(ordersURI))
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		ids := regexp.MustCompile(`<tr data-event="(\d+)">`).FindAllStringSubmatch(body, -1)
		if len(ids) != 3 || ids[0][1] != itoa(second.ID) || ids[2][1] != itoa(first[0].ID) {
			t.Fatalf("events %v, want 3 newest first from %d to %d", ids, second.ID, first[0].ID)
		}
		mustContain(t, body, "3 events, newest first", `<code>`+run.RunID+`</code>`, `href="`+tiPage+`?map_index=2">load_orders [2]</a>`)
		c := rowOf(body, "data-consumer", "orders_report")
		mustContain(t, c, `<td class="pending">3</td>`, `waiting for: <a href="`+datasetURL(customersURI)+`"><code>`+customersURI+`</code></a>`)
		mustNotContain(t, c, "s3://warehouse/orders</code>")

		_, body = get(t, e.as(auth.RoleViewer), datasetURL("s3://elsewhere/x"))
		mustContain(t, body, "No DAG is scheduled on this dataset.", `"rows": 42`)
	})

	t.Run("after the consumer's run the counts start again", func(t *testing.T) {
		if err := e.store.DatasetConsumerAdvance(ctx, &store.DatasetConsumerAdvanceParams{DagID: "orders_report", From: 0, To: second.ID}); err != nil {
			t.Fatal(err)
		}
		recordEvents(t, e.store, at.Add(3*time.Second), src(customersURI, "load_customers", store.NoMapIndex))
		_, body := get(t, e.as(auth.RoleViewer), datasetURL(ordersURI))
		c := rowOf(body, "data-consumer", "orders_report")
		mustContain(t, c, `<td class="pending">0</td>`, `waiting for: <a href="`+datasetURL(ordersURI)+`">`)
		mustNotContain(t, c, customersURI)
		_, body = get(t, e.as(auth.RoleViewer), datasetURL(customersURI))
		mustContain(t, rowOf(body, "data-consumer", "orders_report"), `<td class="pending">1</td>`)
	})

	t.Run("the DAG list and a dataset-scheduled DAG's pages link its datasets", func(t *testing.T) {
		_, body := get(t, e.as(auth.RoleViewer), "/dags/orders_report/grid")
		mustContain(t, body, `Scheduled on datasets: <a href="`+datasetURL(ordersURI)+`"><code>`+ordersURI+`</code></a>, <a href="`+datasetURL(customersURI)+`">`)
		_, body = get(t, e.as(auth.RoleViewer), "/dags/orders_etl/grid")
		mustNotContain(t, body, "Scheduled on datasets")
		_, body = get(t, e.as(auth.RoleViewer), "/dags?q=orders_report")
		mustContain(t, rowOf(body, "id", "dag-orders_report"), `Dataset: <a href="`+datasetURL(ordersURI)+`">`)
	})

	t.Run("bad and unknown URIs", func(t *testing.T) {
		code, body := get(t, e.as(auth.RoleViewer), "/datasets?uri=a+b")
		if code != http.StatusBadRequest || !strings.Contains(body, "must not contain white space") {
			t.Errorf("uri with a space: status %d", code)
		}
		code, body = get(t, e.as(auth.RoleViewer), "/datasets?uri=s3://nobody/here")
		if code != http.StatusNotFound || !strings.Contains(body, "no dataset s3://nobody/here") {
			t.Errorf("unknown uri: status %d", code)
		}
	})
}

func TestDatasetsPageEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir+"/a.star", "dag(dag_id = \"a\", build = lambda: empty(task_id = \"t\"))\n")
	e := newEnv(t, dir)
	code, body := get(t, e.as(auth.RoleViewer), "/datasets")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, "No datasets yet")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fmtSecond formats t as the pages do.
func fmtSecond(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }
