// Package notify sends the notifications of Starflow's built-in
// notifiers, Airflow's notifier classes as data (dags.Notifier): a
// webhook (a JSON POST to a connection's URL, Slack-compatible) and an
// email (SMTP through a connection, STARTTLS when the server offers it).
//
// A notifier's texts are templates rendered with the task context of the
// callback it stands for (operators.Call, whose State and Exception say
// what happened). Sending never panics and never stops the task: errors
// are returned to the caller, which logs them; they never contain the
// connection's password nor the webhook's URL, which often holds a token.
package notify
