package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// tiLog serves GET .../taskInstances/{task_id}/logs/{try_number}: with
// ?offset (bytes) and ?map_index, a JSON chunk {"content", "offset",
// "next_offset", "try_number"}; with ?follow=true, a chunked text/plain
// stream of the log from the offset that goes on with every byte appended
// until the try ends or the client leaves.
func (h *handler) tiLog(w http.ResponseWriter, r *http.Request) {
	k, err := tiKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	try, err := strconv.Atoi(r.PathValue("try_number"))
	if err != nil || try < 1 {
		h.fail(w, r, badf("try_number %q: want 1 or more", r.PathValue("try_number")))
		return
	}
	var offset int64
	if s := r.URL.Query().Get("offset"); s != "" {
		if offset, err = strconv.ParseInt(s, 10, 64); err != nil || offset < 0 {
			h.fail(w, r, badf("offset %q: want a byte offset of 0 or more", s))
			return
		}
	}
	follow, err := boolParam(r, "follow")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ti, err := h.Store.TaskInstanceGet(r.Context(), k)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The next try may be followed before it starts.
	if try > ti.TryNumber+1 || (try == ti.TryNumber+1 && (follow == nil || !*follow)) {
		h.fail(w, r, &notFound{"task instance " + k.String() + " has no try " + strconv.Itoa(try) + " (tries so far: " + strconv.Itoa(ti.TryNumber) + ")"})
		return
	}
	if follow != nil && *follow {
		h.followLog(w, r, k, try, offset)
		return
	}
	chunk, err := h.Logs.Read(r.Context(), &store.TaskLogReadParams{Key: k, TryNumber: try, Offset: offset})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content": string(chunk.Data), "offset": offset,
		"next_offset": chunk.NextOffset, "try_number": try})
}

// notFound is a 404 with a message.
type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }

func (e *notFound) Unwrap() error { return store.ErrNotFound }

// tryOver reports whether try of ti can write no more log.
func tryOver(ti *store.TaskInstance, try int) bool {
	switch {
	case ti.TryNumber > try:
		return true
	case ti.TryNumber == try:
		return ti.State != dags.TaskStateRunning && ti.State != dags.TaskStateRestarting
	default: // the try has not started
		return ti.State.Finished() && ti.State != dags.TaskStateUpForRetry
	}
}

// followLog streams a try's log until the try is over.
func (h *handler) followLog(w http.ResponseWriter, r *http.Request, k store.TaskInstanceKey, try int, offset int64) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	// A followed log may stream for as long as the task runs.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	tick := time.NewTicker(h.LogPoll)
	defer tick.Stop()
	for {
		// Read the state before the log, so that the last read after the
		// try ended sees every byte it wrote.
		ti, err := h.Store.TaskInstanceGet(ctx, k)
		if err != nil {
			h.logFollowErr(ctx, k, err)
			return
		}
		over := tryOver(ti, try)
		for {
			chunk, err := h.Logs.Read(ctx, &store.TaskLogReadParams{Key: k, TryNumber: try, Offset: offset})
			if err != nil {
				h.logFollowErr(ctx, k, err)
				return
			}
			if len(chunk.Data) == 0 {
				break
			}
			if _, err := w.Write(chunk.Data); err != nil {
				return
			}
			offset = chunk.NextOffset
			if err := rc.Flush(); err != nil {
				return
			}
		}
		if over {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (h *handler) logFollowErr(ctx context.Context, k store.TaskInstanceKey, err error) {
	if ctx.Err() == nil {
		h.Logger.WarnContext(ctx, "following a task log failed", "task_instance", k.String(), "err", err)
	}
}
