package main

import (
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// cliUser is the audit log's owner of a command: STARFLOW_USER, else
// the operating system's user, else "cli".
func cliUser() string {
	if u := os.Getenv("STARFLOW_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

// cliAudit records a mutating command in the audit log with source cli,
// as Airflow's CLI writes to its log table. The action is done by then, so
// a failure to record it is a warning, not the command's failure.
func cliAudit(c *cli.Context, s store.Auditor, e store.AuditEntry) {
	if err := store.RecordAudit(c.Context, s, e, cliUser(), "cli", time.Now()); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: %v\n", err)
	}
}
