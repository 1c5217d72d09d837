package api

import (
	"net/http"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Masked stands for a secret value, which the API never returns.
const Masked = "***"

// Variable is a variable; a secret one's value reads Masked.
type Variable struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Description string `json:"description"`
	Secret      bool   `json:"is_secret"`
	UpdatedAt   Time   `json:"updated_at"`
}

func variableOut(v *store.Variable) *Variable {
	out := &Variable{Key: v.Key, Value: v.Value, Description: v.Description, Secret: v.Secret, UpdatedAt: Time(v.UpdatedAt)}
	if v.Secret {
		out.Value = Masked
	}
	return out
}

// variableList serves GET /variables with ?limit and ?offset.
func (h *handler) variableList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Store.VariableList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*Variable, 0, min(len(list), pg.limit))
	for _, v := range slice(list, pg) {
		out = append(out, variableOut(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"variables": out, "total_entries": len(list)})
}

// variableGet serves GET /variables/{variable_key}.
func (h *handler) variableGet(w http.ResponseWriter, r *http.Request) {
	v, err := h.Store.VariableGet(r.Context(), r.PathValue("variable_key"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, variableOut(v))
}

// variableBody is the body of POST /variables and PATCH
// /variables/{variable_key}; absent fields keep their value on PATCH.
type variableBody struct {
	Key         *string `json:"key"`
	Value       *string `json:"value"`
	Description *string `json:"description"`
	Secret      *bool   `json:"is_secret"`
}

// variableCreate serves POST /variables: creates or replaces a variable.
func (h *handler) variableCreate(w http.ResponseWriter, r *http.Request) {
	var b variableBody
	if err := decode(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.Key == nil || *b.Key == "" || b.Value == nil {
		h.fail(w, r, badf("key and value are required"))
		return
	}
	p := &store.VariableSetParams{Key: *b.Key, Value: *b.Value, Description: deref(b.Description), Secret: b.Secret != nil && *b.Secret}
	h.setVariable(w, r, p, http.StatusCreated)
}

// variablePatch serves PATCH /variables/{variable_key}.
func (h *handler) variablePatch(w http.ResponseWriter, r *http.Request) {
	var b variableBody
	if err := decode(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	key := r.PathValue("variable_key")
	if b.Key != nil && *b.Key != key {
		h.fail(w, r, badf("key %q in the body differs from %q in the path", *b.Key, key))
		return
	}
	old, err := h.Store.VariableGet(r.Context(), key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &store.VariableSetParams{Key: key, Value: old.Value, Description: old.Description, Secret: old.Secret}
	if b.Value != nil {
		p.Value = *b.Value
	}
	if b.Description != nil {
		p.Description = *b.Description
	}
	if b.Secret != nil {
		p.Secret = *b.Secret
	}
	h.setVariable(w, r, p, http.StatusOK)
}

func (h *handler) setVariable(w http.ResponseWriter, r *http.Request, p *store.VariableSetParams, status int) {
	if err := h.Store.VariableSet(r.Context(), p); err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditVariableSet, Extra: "key=" + p.Key})
	v, err := h.Store.VariableGet(r.Context(), p.Key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, variableOut(v))
}

// variableDelete serves DELETE /variables/{variable_key}.
func (h *handler) variableDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.Store.VariableDelete(r.Context(), r.PathValue("variable_key")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditVariableDelete, Extra: "key=" + r.PathValue("variable_key")})
	w.WriteHeader(http.StatusNoContent)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
