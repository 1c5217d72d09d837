package ui

import "net/http"

// confirmPage asks whether to go on with a delete: the page a delete
// button leads to when the browser runs no JavaScript (with JavaScript,
// app.js asks with window.confirm and posts confirm=1 at once).
type confirmPage struct {
	Question string
	// Action is the POST target; Cancel the page to go back to.
	Action, Cancel string
}

func (p *confirmPage) title() string { return "Confirm" }

// confirmed reports whether the delete request carries confirm=1. When it
// does not, it answers with the confirmation page and returns false.
func (h *handler) confirmed(w http.ResponseWriter, r *http.Request, question, cancel string) bool {
	if r.FormValue("confirm") != "" {
		return true
	}
	h.render(w, r, http.StatusOK, "confirm", &confirmPage{Question: question, Action: r.URL.Path, Cancel: cancel})
	return false
}
