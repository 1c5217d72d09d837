package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Connection is a connection without its password: HasPassword tells
// whether one is set, and extra fields whose names look secret read
// Masked.
type Connection struct {
	ID          string         `json:"connection_id"`
	Type        string         `json:"conn_type"`
	Description string         `json:"description"`
	Host        string         `json:"host"`
	Port        int            `json:"port"`
	Schema      string         `json:"schema"`
	Login       string         `json:"login"`
	HasPassword bool           `json:"has_password"`
	Extra       map[string]any `json:"extra"`
	UpdatedAt   Time           `json:"updated_at"`
}

// sensitiveWords mark extra fields whose values are masked, as Airflow's
// secrets masker does.
var sensitiveWords = []string{"password", "passwd", "secret", "token", "key", "private", "credential", "auth"}

func sensitive(name string) bool {
	n := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func connectionOut(c *store.Connection) *Connection {
	extra := make(map[string]any, len(c.Extra))
	for k, v := range c.Extra {
		if sensitive(k) {
			v = Masked
		}
		extra[k] = v
	}
	return &Connection{ID: c.ID, Type: c.Type, Description: c.Description, Host: c.Host, Port: c.Port, Schema: c.Schema,
		Login: c.Login, HasPassword: c.Password != "", Extra: extra, UpdatedAt: Time(c.UpdatedAt)}
}

// connectionList serves GET /connections with ?limit and ?offset.
func (h *handler) connectionList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Store.ConnectionList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*Connection, 0, min(len(list), pg.limit))
	for _, c := range slice(list, pg) {
		out = append(out, connectionOut(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out, "total_entries": len(list)})
}

// connectionGet serves GET /connections/{connection_id}.
func (h *handler) connectionGet(w http.ResponseWriter, r *http.Request) {
	c, err := h.Store.ConnectionGet(r.Context(), r.PathValue("connection_id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, connectionOut(c))
}

// connectionBody is the body of POST /connections.
type connectionBody struct {
	ID          string         `json:"connection_id"`
	Type        string         `json:"conn_type"`
	Description string         `json:"description"`
	Host        string         `json:"host"`
	Port        int            `json:"port"`
	Schema      string         `json:"schema"`
	Login       string         `json:"login"`
	Password    string         `json:"password"`
	Extra       map[string]any `json:"extra"`
}

// connectionCreate serves POST /connections.
func (h *handler) connectionCreate(w http.ResponseWriter, r *http.Request) {
	var b connectionBody
	if err := decode(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.ID == "" || b.Type == "" {
		h.fail(w, r, badf("connection_id and conn_type are required"))
		return
	}
	p := &store.ConnectionCreateParams{Description: b.Description, Connection: operators.Connection{ID: b.ID, Type: b.Type,
		Host: b.Host, Port: b.Port, Schema: b.Schema, Login: b.Login, Password: b.Password, Extra: b.Extra}}
	if err := h.Store.ConnectionCreate(r.Context(), p); err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditConnectionSet, Extra: "conn_id=" + b.ID + " type=" + b.Type})
	c, err := h.Store.ConnectionGet(r.Context(), b.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, connectionOut(c))
}

// connectionPatch serves PATCH /connections/{connection_id} as Airflow's
// patch_connection does: the fields present in the body change (only
// those named in ?update_mask=a,b when given), in place. "password":
// null clears the password and the mask "***" (what the API shows for a
// secret) keeps it; an extra field sent as "***" keeps its stored value
// (Airflow's secrets_masker merge), so a GET's masked body can be sent
// back. connection_id, when present, must be the path's.
func (h *handler) connectionPatch(w http.ResponseWriter, r *http.Request) {
	var b map[string]json.RawMessage
	if err := decode(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("connection_id")
	mask := map[string]bool{}
	for _, m := range r.URL.Query()["update_mask"] {
		for f := range strings.SplitSeq(m, ",") {
			if f = strings.TrimSpace(f); f != "" {
				mask[f] = true
			}
		}
	}
	if raw, ok := b["connection_id"]; ok {
		var bid string
		if err := json.Unmarshal(raw, &bid); err != nil || bid != id {
			h.fail(w, r, badf("connection_id in the body differs from %q in the path", id))
			return
		}
	}
	p := &store.ConnectionUpdateParams{ConnID: id}
	var extra map[string]any
	changed := []string{}
	for name, raw := range b {
		if name == "connection_id" || (len(mask) > 0 && !mask[name]) {
			continue
		}
		var err error
		switch name {
		case "conn_type":
			err = json.Unmarshal(raw, &p.Type)
		case "description":
			err = json.Unmarshal(raw, &p.Description)
		case "host":
			err = json.Unmarshal(raw, &p.Host)
		case "port":
			err = json.Unmarshal(raw, &p.Port)
		case "schema":
			err = json.Unmarshal(raw, &p.Schema)
		case "login":
			err = json.Unmarshal(raw, &p.Login)
		case "password":
			var pw *string
			if err = json.Unmarshal(raw, &pw); err == nil {
				switch {
				case pw == nil:
					p.Password = new("")
				case *pw != Masked:
					p.Password = pw
				}
			}
		case "extra":
			err = json.Unmarshal(raw, &extra)
			if err == nil && extra == nil {
				extra = map[string]any{}
			}
		default:
			h.fail(w, r, badf("unknown field %q", name))
			return
		}
		if err != nil {
			h.fail(w, r, badf("field %q: %v", name, err))
			return
		}
		changed = append(changed, name)
	}
	for f := range mask {
		if _, ok := b[f]; !ok {
			h.fail(w, r, badf("update_mask names %q, which the body lacks", f))
			return
		}
	}
	if extra != nil {
		old, err := h.Store.ConnectionGet(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for k, v := range extra {
			if s, ok := v.(string); ok && s == Masked {
				if ov, ok := old.Extra[k]; ok {
					extra[k] = ov
				}
			}
		}
		p.Extra = extra
	}
	if err := h.Store.ConnectionUpdate(r.Context(), p); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.Store.ConnectionGet(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slices.Sort(changed)
	h.audit(r, store.AuditEntry{Event: store.AuditConnectionSet, Extra: "conn_id=" + id + " type=" + c.Type + " fields=" + strings.Join(changed, ",")})
	writeJSON(w, http.StatusOK, connectionOut(c))
}

// connectionDelete serves DELETE /connections/{connection_id}.
func (h *handler) connectionDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.Store.ConnectionDelete(r.Context(), r.PathValue("connection_id")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditConnectionDelete, Extra: "conn_id=" + r.PathValue("connection_id")})
	w.WriteHeader(http.StatusNoContent)
}
