package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/starflow-dev/starflow/runtime/store"
)

// Pool is a pool with its occupancy.
type Pool struct {
	Name         string `json:"name"`
	Slots        int    `json:"slots"`
	Description  string `json:"description"`
	RunningSlots int    `json:"running_slots"`
	QueuedSlots  int    `json:"queued_slots"`
	OpenSlots    int    `json:"open_slots"`
}

func poolOut(p *store.Pool) *Pool {
	return &Pool{p.Name, p.Slots, p.Description, p.RunningSlots, p.QueuedSlots, p.OpenSlots()}
}

// poolList serves GET /pools with ?limit and ?offset.
func (h *handler) poolList(w http.ResponseWriter, r *http.Request) {
	pg, err := pageOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Store.PoolList(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]*Pool, 0, min(len(list), pg.limit))
	for _, p := range slice(list, pg) {
		out = append(out, poolOut(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"pools": out, "total_entries": len(list)})
}

// poolGet serves GET /pools/{pool_name}.
func (h *handler) poolGet(w http.ResponseWriter, r *http.Request) {
	p, err := h.Store.PoolGet(r.Context(), r.PathValue("pool_name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, poolOut(p))
}

// poolBody is the body of POST /pools and PATCH /pools/{pool_name}.
type poolBody struct {
	Name        *string `json:"name"`
	Slots       *int    `json:"slots"`
	Description *string `json:"description"`
}

// poolCreate serves POST /pools; a taken name is a conflict.
func (h *handler) poolCreate(w http.ResponseWriter, r *http.Request) {
	var b poolBody
	if err := decode(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if b.Name == nil || *b.Name == "" || b.Slots == nil {
		h.fail(w, r, badf("name and slots are required"))
		return
	}
	if _, err := h.Store.PoolGet(r.Context(), *b.Name); err == nil {
		writeError(w, http.StatusConflict, "pool "+*b.Name+" already exists")
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	h.setPool(w, r, &store.PoolSetParams{Name: *b.Name, Slots: *b.Slots, Description: deref(b.Description)}, http.StatusCreated)
}

// poolPatch serves PATCH /pools/{pool_name}: new slots or description.
func (h *handler) poolPatch(w http.ResponseWriter, r *http.Request) {
	var b poolBody
	if err := decode(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	name := r.PathValue("pool_name")
	if b.Name != nil && *b.Name != name {
		h.fail(w, r, badf("pools cannot be renamed (name %q in the body, %q in the path)", *b.Name, name))
		return
	}
	old, err := h.Store.PoolGet(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := &store.PoolSetParams{Name: name, Slots: old.Slots, Description: old.Description}
	if b.Slots != nil {
		p.Slots = *b.Slots
	}
	if b.Description != nil {
		p.Description = *b.Description
	}
	h.setPool(w, r, p, http.StatusOK)
}

func (h *handler) setPool(w http.ResponseWriter, r *http.Request, p *store.PoolSetParams, status int) {
	if err := h.Store.PoolSet(r.Context(), p); err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditPoolSet, Extra: fmt.Sprintf("pool=%s slots=%d", p.Name, p.Slots)})
	got, err := h.Store.PoolGet(r.Context(), p.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, poolOut(got))
}

// poolDelete serves DELETE /pools/{pool_name}; the default pool stays.
func (h *handler) poolDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.Store.PoolDelete(r.Context(), r.PathValue("pool_name")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.audit(r, store.AuditEntry{Event: store.AuditPoolDelete, Extra: "pool=" + r.PathValue("pool_name")})
	w.WriteHeader(http.StatusNoContent)
}
