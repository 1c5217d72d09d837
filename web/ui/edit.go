package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/internal/conntest"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// The forms that create, edit and delete variables, connections and pools.
// Every one needs the permission of its kind (admin and op hold them),
// carries the session's CSRF token (the middleware checks it) and leaves
// an audit entry.

// formField is one input of an edit form.
type formField struct {
	Name, Label string
	// Type is text, textarea, number, password, checkbox or select.
	Type string
	// Options are a select's choices.
	Options  []string
	Value    string
	Checked  bool
	ReadOnly bool
	Required bool
	Hint     string
}

// editPage is a create or edit form.
type editPage struct {
	Heading string
	// Kind is variable, connection or pool; List is its list page.
	Kind, List string
	Action     string
	Fields     []formField
	Error      string
}

func (p *editPage) title() string { return p.Heading }

// editRoutes adds the routes of the edit forms.
func (h *handler) editRoutes() {
	m := h.mux
	m.HandleFunc("GET /variables/new", h.variableForm)
	m.HandleFunc("GET /variables/{key}/edit", h.variableForm)
	m.HandleFunc("POST /variables", h.variableSave)
	m.HandleFunc("POST /variables/{key}/delete", h.variableDelete)
	m.HandleFunc("GET /pools/new", h.poolForm)
	m.HandleFunc("GET /pools/{name}/edit", h.poolForm)
	m.HandleFunc("POST /pools", h.poolSave)
	m.HandleFunc("POST /pools/{name}/delete", h.poolDelete)
	m.HandleFunc("GET /connections/new", h.connectionForm)
	m.HandleFunc("GET /connections/{id}/edit", h.connectionForm)
	m.HandleFunc("POST /connections", h.connectionSave)
	m.HandleFunc("POST /connections/{id}/delete", h.connectionDelete)
	m.HandleFunc("POST /connections/{id}/test", h.connectionTest)
	m.HandleFunc("GET /audit", h.auditLog)
}

// formError is a mistake in a submitted form: the form is shown again
// with it.
func formError(err error) bool {
	var he *httpError
	return errors.As(err, &he) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrTooLarge)
}

// showForm renders p again with err (400 or 409), or fails for any other
// error.
func (h *handler) showForm(w http.ResponseWriter, r *http.Request, p *editPage, err error) {
	if !formError(err) {
		h.fail(w, r, err)
		return
	}
	p.Error = err.Error()
	status := http.StatusBadRequest
	if errors.Is(err, store.ErrConflict) {
		status = http.StatusConflict
	}
	h.render(w, r, status, "edit", p)
}

// ---- variables

func variableFields(v *store.Variable, editing bool) []formField {
	return []formField{
		{Name: "key", Label: "Key", Type: "text", Value: v.Key, ReadOnly: editing, Required: true},
		{Name: "value", Label: "Value", Type: "textarea", Value: v.Value, Hint: "A secret's value is not shown; leave it empty to keep it."},
		{Name: "description", Label: "Description", Type: "text", Value: v.Description},
		{Name: "is_secret", Label: "Secret (masked everywhere, encrypted at rest)", Type: "checkbox", Checked: v.Secret},
	}
}

func (h *handler) variableForm(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermVariables) {
		return
	}
	p := &editPage{Heading: "New variable", Kind: "variable", List: "/variables", Action: "/variables"}
	v := &store.Variable{}
	if key := r.PathValue("key"); key != "" {
		var err error
		if v, err = h.Store.VariableGet(r.Context(), key); err != nil {
			h.fail(w, r, err)
			return
		}
		p.Heading = "Edit variable " + key
		if v.Secret {
			v.Value = ""
		}
	}
	p.Fields = variableFields(v, r.PathValue("key") != "")
	h.render(w, r, http.StatusOK, "edit", p)
}

func (h *handler) variableSave(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermVariables) {
		return
	}
	ctx := r.Context()
	sp := &store.VariableSetParams{Key: strings.TrimSpace(r.FormValue("key")), Value: r.FormValue("value"),
		Description: r.FormValue("description"), Secret: r.FormValue("is_secret") != ""}
	editing := r.FormValue("editing") != ""
	p := &editPage{Heading: "New variable", Kind: "variable", List: "/variables", Action: "/variables",
		Fields: variableFields(&store.Variable{Key: sp.Key, Value: sp.Value, Description: sp.Description, Secret: sp.Secret}, editing)}
	if editing {
		p.Heading = "Edit variable " + sp.Key
	}
	err := func() error {
		if sp.Key == "" {
			return errorf(http.StatusBadRequest, "a variable needs a key")
		}
		old, err := h.Store.VariableGet(ctx, sp.Key)
		switch {
		case err == nil && !editing:
			return fmt.Errorf("variable %s exists; edit it instead: %w", sp.Key, store.ErrConflict)
		case err == nil && old.Secret && sp.Value == "":
			sp.Value = old.Value // a secret left empty keeps its value
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		return h.Store.VariableSet(ctx, sp)
	}()
	if err != nil {
		h.showForm(w, r, p, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditVariableSet, Extra: "key=" + sp.Key + secretNote(sp.Secret)})
	http.Redirect(w, r, "/variables", http.StatusSeeOther)
}

func secretNote(secret bool) string {
	if secret {
		return " (secret)"
	}
	return ""
}

func (h *handler) variableDelete(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermVariables) {
		return
	}
	key := r.PathValue("key")
	if !h.confirmed(w, r, "Delete variable "+key+"?", "/variables") {
		return
	}
	if err := h.Store.VariableDelete(r.Context(), key); err != nil {
		h.fail(w, r, fmt.Errorf("delete variable %s: %w", key, err))
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditVariableDelete, Extra: "key=" + key})
	http.Redirect(w, r, "/variables", http.StatusSeeOther)
}

// ---- pools

func poolFields(name string, slots int, desc string, editing bool) []formField {
	return []formField{
		{Name: "name", Label: "Pool", Type: "text", Value: name, ReadOnly: editing, Required: true},
		{Name: "slots", Label: "Slots", Type: "number", Value: strconv.Itoa(slots), Required: true},
		{Name: "description", Label: "Description", Type: "text", Value: desc},
	}
}

func (h *handler) poolForm(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermPools) {
		return
	}
	p := &editPage{Heading: "New pool", Kind: "pool", List: "/pools", Action: "/pools", Fields: poolFields("", 1, "", false)}
	if name := r.PathValue("name"); name != "" {
		pool, err := h.Store.PoolGet(r.Context(), name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Heading, p.Fields = "Edit pool "+name, poolFields(pool.Name, pool.Slots, pool.Description, true)
	}
	h.render(w, r, http.StatusOK, "edit", p)
}

func (h *handler) poolSave(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermPools) {
		return
	}
	name, desc, editing := strings.TrimSpace(r.FormValue("name")), r.FormValue("description"), r.FormValue("editing") != ""
	slots, convErr := strconv.Atoi(strings.TrimSpace(r.FormValue("slots")))
	p := &editPage{Heading: "New pool", Kind: "pool", List: "/pools", Action: "/pools", Fields: poolFields(name, slots, desc, editing)}
	if editing {
		p.Heading = "Edit pool " + name
	}
	err := func() error {
		if convErr != nil {
			return errorf(http.StatusBadRequest, "slots must be a whole number, not %q", r.FormValue("slots"))
		}
		if name == "" {
			return errorf(http.StatusBadRequest, "a pool needs a name")
		}
		if !editing {
			if _, err := h.Store.PoolGet(r.Context(), name); err == nil {
				return fmt.Errorf("pool %s exists; edit it instead: %w", name, store.ErrConflict)
			}
		}
		return h.Store.PoolSet(r.Context(), &store.PoolSetParams{Name: name, Slots: slots, Description: desc})
	}()
	if err != nil {
		h.showForm(w, r, p, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditPoolSet, Extra: fmt.Sprintf("pool=%s slots=%d", name, slots)})
	http.Redirect(w, r, "/pools", http.StatusSeeOther)
}

func (h *handler) poolDelete(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, auth.PermPools) {
		return
	}
	name := r.PathValue("name")
	if !h.confirmed(w, r, "Delete pool "+name+"?", "/pools") {
		return
	}
	if err := h.Store.PoolDelete(r.Context(), name); err != nil {
		h.fail(w, r, fmt.Errorf("delete pool %s: %w", name, err))
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditPoolDelete, Extra: "pool=" + name})
	http.Redirect(w, r, "/pools", http.StatusSeeOther)
}

// ---- connections

func connectionFields(c *operators.Connection, desc string, editing bool) []formField {
	port := ""
	if c.Port != 0 {
		port = strconv.Itoa(c.Port)
	}
	extra := ""
	if len(c.Extra) > 0 {
		b, _ := json.MarshalIndent(c.Extra, "", "  ")
		extra = string(b)
	}
	pwHint := ""
	if editing {
		pwHint = "Leave empty to keep the stored password."
	}
	return []formField{
		{Name: "conn_id", Label: "Conn id", Type: "text", Value: c.ID, ReadOnly: editing, Required: true},
		{Name: "conn_type", Label: "Type", Type: "text", Value: c.Type, Required: true, Hint: "postgres, http, https, …"},
		{Name: "host", Label: "Host", Type: "text", Value: c.Host},
		{Name: "port", Label: "Port", Type: "number", Value: port},
		{Name: "schema", Label: "Schema", Type: "text", Value: c.Schema},
		{Name: "login", Label: "Login", Type: "text", Value: c.Login},
		{Name: "password", Label: "Password", Type: "password", Hint: pwHint},
		{Name: "extra", Label: "Extra (JSON object)", Type: "textarea", Value: extra},
		{Name: "description", Label: "Description", Type: "text", Value: desc},
	}
}

func (h *handler) connectionForm(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permConnections) {
		return
	}
	p := &editPage{Heading: "New connection", Kind: "connection", List: "/connections", Action: "/connections",
		Fields: connectionFields(&operators.Connection{}, "", false)}
	if id := r.PathValue("id"); id != "" {
		c, err := h.Store.ConnectionGet(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Heading, p.Fields = "Edit connection "+id, connectionFields(&c.Connection, c.Description, true)
	}
	h.render(w, r, http.StatusOK, "edit", p)
}

// readConnection reads the connection form.
func readConnection(r *http.Request) (*operators.Connection, error) {
	c := &operators.Connection{ID: strings.TrimSpace(r.FormValue("conn_id")), Type: strings.TrimSpace(r.FormValue("conn_type")),
		Host: r.FormValue("host"), Schema: r.FormValue("schema"), Login: r.FormValue("login"), Password: r.FormValue("password")}
	if port := strings.TrimSpace(r.FormValue("port")); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return c, errorf(http.StatusBadRequest, "port must be a number from 0 to 65535, not %q", port)
		}
		c.Port = n
	}
	if extra := strings.TrimSpace(r.FormValue("extra")); extra != "" {
		if err := json.Unmarshal([]byte(extra), &c.Extra); err != nil {
			return c, errorf(http.StatusBadRequest, "extra must be a JSON object: %v", err)
		}
	}
	if c.ID == "" || c.Type == "" {
		return c, errorf(http.StatusBadRequest, "a connection needs a conn id and a type")
	}
	return c, nil
}

func (h *handler) connectionSave(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permConnections) {
		return
	}
	ctx := r.Context()
	editing := r.FormValue("editing") != ""
	c, err := readConnection(r)
	desc := r.FormValue("description")
	p := &editPage{Heading: "New connection", Kind: "connection", List: "/connections", Action: "/connections",
		Fields: connectionFields(c, desc, editing)}
	if editing {
		p.Heading = "Edit connection " + c.ID
	}
	if err == nil {
		err = h.saveConnection(ctx, c, desc, editing)
	}
	if err != nil {
		h.showForm(w, r, p, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditConnectionSet, Extra: "conn_id=" + c.ID + " type=" + c.Type})
	http.Redirect(w, r, "/connections", http.StatusSeeOther)
}

// saveConnection creates c, or updates the stored connection of its id in
// place when editing: every field as the form has it, except an empty
// password, which keeps the stored one (as Airflow's edit form does: it
// never shows the password, so a blank field means "unchanged").
func (h *handler) saveConnection(ctx context.Context, c *operators.Connection, desc string, editing bool) error {
	if !editing {
		return h.Store.ConnectionCreate(ctx, &store.ConnectionCreateParams{Connection: *c, Description: desc})
	}
	p := &store.ConnectionUpdateParams{ConnID: c.ID, Type: &c.Type, Description: &desc, Host: &c.Host, Port: &c.Port,
		Schema: &c.Schema, Login: &c.Login, Extra: c.Extra}
	if p.Extra == nil {
		p.Extra = map[string]any{}
	}
	if c.Password != "" {
		p.Password = &c.Password
	}
	return h.Store.ConnectionUpdate(ctx, p)
}

func (h *handler) connectionDelete(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permConnections) {
		return
	}
	id := r.PathValue("id")
	if !h.confirmed(w, r, "Delete connection "+id+"?", "/connections") {
		return
	}
	if err := h.Store.ConnectionDelete(r.Context(), id); err != nil {
		h.fail(w, r, fmt.Errorf("delete connection %s: %w", id, err))
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditConnectionDelete, Extra: "conn_id=" + id})
	http.Redirect(w, r, "/connections", http.StatusSeeOther)
}

// connectionTestTimeout bounds the Test button's check.
const connectionTestTimeout = 10 * time.Second

// connectionTest checks that a stored connection's system answers and
// answers with a one-line result (an htmx fragment).
func (h *handler) connectionTest(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permConnections) {
		return
	}
	id := r.PathValue("id")
	c, err := h.Store.ConnectionGet(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), connectionTestTimeout)
	defer cancel()
	what, err := conntest.Test(ctx, &c.Connection)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		fmt.Fprintf(w, `<span class="test-result failed" role="status">%s failed: %s</span>`, escape(what), escape(err.Error()))
		return
	}
	fmt.Fprintf(w, `<span class="test-result ok" role="status">ok: %s</span>`, escape(what))
}

// testable reports whether the Test button is offered for a connection
// type: the ones conntest checks by protocol.
func testable(connType string) bool {
	switch connType {
	case "http", "https", "postgres", "postgresql":
		return true
	}
	return false
}
