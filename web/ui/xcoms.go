package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/starflow-dev/starflow/runtime/store"
)

// The browse pages of XComs and import errors (Airflow's Browse > XComs
// and the DAG list's import errors, one page of their own).

// xcomPreviewRunes bounds the value shown in an XCom's row.
const xcomPreviewRunes = 200

// xcomRow is an XCom with its value as short JSON.
type xcomRow struct {
	*store.XCom
	Preview string
	// Cut is set when Preview is shortened.
	Cut bool
}

// xcomsPage lists XComs across DAGs and runs.
type xcomsPage struct {
	XComs                     []xcomRow
	DagID, RunID, TaskID, Key string
	Pager                     pager
}

func (p *xcomsPage) title() string { return "XComs" }

// xcomPreview is v as compact JSON, cut to xcomPreviewRunes.
func xcomPreview(x *store.XCom) (string, bool) {
	if x.ValueError != "" {
		return "unreadable: " + x.ValueError, false
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the template escapes
	if err := enc.Encode(x.Value); err != nil {
		return fmt.Sprintf("%v", x.Value), false
	}
	s := strings.TrimSuffix(b.String(), "\n")
	if utf8.RuneCountInString(s) <= xcomPreviewRunes {
		return s, false
	}
	r := []rune(s)
	return string(r[:xcomPreviewRunes]) + "…", true
}

func (h *handler) browseXComs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &xcomsPage{DagID: q.Get("dag_id"), RunID: q.Get("run_id"), TaskID: q.Get("task_id"), Key: q.Get("key")}
	off, err := readOffset(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Pager.Offset = off
	xs, err := h.Store.XComBrowse(r.Context(), &store.XComBrowseParams{DagID: p.DagID, RunID: p.RunID, TaskID: p.TaskID, Key: p.Key,
		Limit: browsePageSize + 1, Offset: off})
	if err != nil {
		h.fail(w, r, fmt.Errorf("browse xcoms: %w", err))
		return
	}
	p.Pager.links("/xcoms", q, len(xs))
	for _, x := range xs[:min(len(xs), browsePageSize)] {
		row := xcomRow{XCom: x}
		row.Preview, row.Cut = xcomPreview(x)
		p.XComs = append(p.XComs, row)
	}
	h.render(w, r, http.StatusOK, "xcoms", p)
}

// importErrorsPage lists the DAG files that failed to load.
type importErrorsPage struct {
	Errors []*store.ImportError
}

func (p *importErrorsPage) title() string { return "Import errors" }

func (h *handler) importErrors(w http.ResponseWriter, r *http.Request) {
	errs, err := h.Store.ImportErrorList(r.Context())
	if err != nil {
		h.fail(w, r, fmt.Errorf("list import errors: %w", err))
		return
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Pos.File < errs[j].Pos.File })
	h.render(w, r, http.StatusOK, "importerrors", &importErrorsPage{Errors: errs})
}

// xcomRoutes adds the XCom and import error pages.
func (h *handler) xcomRoutes() {
	h.mux.HandleFunc("GET /xcoms", h.browseXComs)
	h.mux.HandleFunc("GET /import-errors", h.importErrors)
}
