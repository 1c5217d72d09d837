package executor

import (
	"context"
	"errors"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// DefaultEmailConnID is the connection email alerts go through, Airflow's
// default [email] email_conn_id.
const DefaultEmailConnID = "smtp_default"

// Texts of an email alert, templates rendered with the task context as
// Airflow's default alert (subject "Airflow alert: <TaskInstance ...>").
const (
	emailAlertSubject = "Starflow alert: {{ ti }}"
	emailAlertHTML    = "Try {{ ti.try_number }} out of {{ ti.max_tries + 1 }}<br>" +
		"Exception:<br><pre>{{ exception | escape }}</pre><br>" +
		"DAG: {{ ti.dag_id }}, task: {{ ti.task_id }}, run: {{ run_id }}, logical date: {{ logical_date }}<br>"
)

// wantsEmailAlert reports whether a try of t that ended in state mails
// t.Email: a final failure with email_on_failure, a retry with
// email_on_retry.
func (r *TryRunner) wantsEmailAlert(t *dags.Task, state dags.TaskState) bool {
	if len(t.Email) == 0 {
		return false
	}
	switch state {
	case dags.TaskStateFailed:
		return t.EmailOnFailure
	case dags.TaskStateUpForRetry:
		return t.EmailOnRetry
	}
	return false
}

// emailAlert mails the task's email addresses about the try that c
// describes (c.State and c.Exception set), through the email connection.
// Without that connection it logs a warning, once per runner, and writes
// one line to the task log; a failure to send goes to the task log. The
// try's state never changes.
func (r *TryRunner) emailAlert(ctx context.Context, c *operators.Call) {
	connID := r.EmailConnID
	if connID == "" {
		connID = DefaultEmailConnID
	}
	var err error
	if c.Connections == nil {
		err = store.ErrNotFound
	} else {
		_, err = c.Connections.Get(ctx, connID)
	}
	if errors.Is(err, store.ErrNotFound) {
		c.Logf("email alert to %v not sent: no connection %s (add it to send email alerts)", c.Task.Email, connID)
		r.emailWarned.Do(func() {
			if r.Logger != nil {
				r.Logger.Warn("email alerts are not sent: no connection "+connID+"; add it (an SMTP connection, as for email_notifier) to send the mails of tasks with email and email_on_failure/email_on_retry",
					"dag", c.Run.DAGID, "task", c.Task.ID)
			}
		})
		return
	}
	to := make([]any, len(c.Task.Email))
	for i, e := range c.Task.Email {
		to[i] = e
	}
	n := &dags.Notifier{Kind: dags.NotifierEmail, ConnID: connID, Args: map[string]any{
		"to": to, "subject": emailAlertSubject, "html_content": emailAlertHTML,
	}}
	r.RunCallbacks(ctx, c, "email alert", []dags.Callback{{Notifier: n}})
}
