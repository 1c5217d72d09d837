package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// usersCommand manages the webserver's users.
func usersCommand() *cli.Command {
	return &cli.Command{
		Name:  "users",
		Usage: "manage the webserver's users (admin, op, viewer)",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create a user; the password is read from --password, STARFLOW_PASSWORD, standard input, or generated and printed",
				ArgsUsage: "USERNAME",
				Flags: []cli.Flag{
					databaseURLFlag(),
					&cli.StringFlag{Name: "role", Usage: "admin, op or viewer", Required: true},
					&cli.StringFlag{Name: "password", Usage: "the password (visible in the process list: prefer STARFLOW_PASSWORD or standard input)", EnvVars: []string{"STARFLOW_PASSWORD"}},
					&cli.BoolFlag{Name: "generate-password", Usage: "generate a random password and print it once"},
				},
				Action: runUsersCreate,
			},
			{
				Name:  "list",
				Usage: "list users, their roles and whether they are active",
				Flags: []cli.Flag{databaseURLFlag(), outputFlag()},
				Action: func(c *cli.Context) error {
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					return withStore(c, func(s store.Store) error {
						users, err := s.UserList(c.Context)
						if err != nil {
							return err
						}
						rows := make([][]string, len(users))
						for i, u := range users {
							rows[i] = []string{u.Username, u.Role, fmt.Sprint(u.Active), u.CreatedAt.Format(time.RFC3339)}
						}
						if users == nil {
							users = []*store.User{}
						}
						return out.print(users, []string{"USERNAME", "ROLE", "ACTIVE", "CREATED"}, rows)
					})
				},
			},
			{
				Name:      "set-password",
				Aliases:   []string{"reset-password"},
				UsageText: "starflow users reset-password admin --generate-password   # a new random password, printed\n   starflow users set-password alice < password.txt",
				Usage:     "change a user's password (read as for create); the user's sessions and API tokens end",
				ArgsUsage: "USERNAME",
				Flags: []cli.Flag{
					databaseURLFlag(),
					&cli.StringFlag{Name: "password", Usage: "the new password", EnvVars: []string{"STARFLOW_PASSWORD"}},
					&cli.BoolFlag{Name: "generate-password", Usage: "generate a random password and print it once"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("users set-password takes one USERNAME")
					}
					password, generated := c.String("password"), false
					switch {
					case password != "" && c.Bool("generate-password"):
						return usageError("give --password or --generate-password, not both")
					case c.Bool("generate-password"):
						var err error
						if password, err = auth.GeneratePassword(); err != nil {
							return internalError(err)
						}
						generated = true
					}
					if password == "" {
						var err error
						if password, err = readPassword(c.App.Reader, c.App.ErrWriter); err != nil {
							return usageError("%v", err)
						}
					}
					hash, err := auth.HashPassword(password)
					if err != nil {
						return usageError("%v", err)
					}
					return withStore(c, func(s store.Store) error {
						if _, err := s.UserUpdate(c.Context, &store.UserUpdateParams{Username: c.Args().First(), PasswordHash: &hash}); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditUserUpdate, Extra: "username=" + c.Args().First() + " password reset"})
						fmt.Fprintf(c.App.Writer, "changed the password of %s\n", c.Args().First())
						if generated {
							fmt.Fprintf(c.App.Writer, "new password (shown once): %s\n", password)
						}
						return nil
					})
				},
			},
			{
				Name:      "set-role",
				Usage:     "change a user's role (admin, op or viewer); the user's sessions and API tokens end",
				ArgsUsage: "USERNAME",
				Flags: []cli.Flag{
					databaseURLFlag(),
					&cli.StringFlag{Name: "role", Usage: "admin, op or viewer", Required: true},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("users set-role takes one USERNAME")
					}
					role, ok := auth.ParseRole(c.String("role"))
					if !ok {
						return usageError("--role %q: want admin, op or viewer", c.String("role"))
					}
					r := string(role)
					return withStore(c, func(s store.Store) error {
						if _, err := s.UserUpdate(c.Context, &store.UserUpdateParams{Username: c.Args().First(), Role: &r}); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditUserUpdate, Extra: "username=" + c.Args().First() + " role=" + r})
						fmt.Fprintf(c.App.Writer, "%s is now %s\n", c.Args().First(), r)
						return nil
					})
				},
			},
			usersSetActiveCommand("deactivate", false, "deactivate a user: it cannot log in, and its sessions and API tokens end"),
			usersSetActiveCommand("activate", true, "activate a deactivated user again (its old sessions and tokens stay ended)"),
			{
				Name:      "delete",
				Usage:     "delete a user and its API tokens",
				ArgsUsage: "USERNAME",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("users delete takes one USERNAME")
					}
					return withStore(c, func(s store.Store) error {
						if err := s.UserDelete(c.Context, c.Args().First()); err != nil {
							return err
						}
						cliAudit(c, s, store.AuditEntry{Event: store.AuditUserDelete, Extra: "username=" + c.Args().First()})
						fmt.Fprintf(c.App.Writer, "deleted user %s\n", c.Args().First())
						return nil
					})
				},
			},
		},
	}
}

// usersSetActiveCommand is users activate or users deactivate.
func usersSetActiveCommand(name string, active bool, usage string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "USERNAME",
		Flags:     []cli.Flag{databaseURLFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("users %s takes one USERNAME", name)
			}
			username := c.Args().First()
			return withStore(c, func(s store.Store) error {
				u, err := s.UserGet(c.Context, username)
				if err != nil {
					return err
				}
				if u.Active == active {
					fmt.Fprintf(c.App.Writer, "%s is already %sd\n", username, name)
					return nil
				}
				if _, err := s.UserUpdate(c.Context, &store.UserUpdateParams{Username: username, Active: &active}); err != nil {
					return err
				}
				cliAudit(c, s, store.AuditEntry{Event: store.AuditUserUpdate, Extra: fmt.Sprintf("username=%s active=%t", username, active)})
				fmt.Fprintf(c.App.Writer, "%sd %s\n", name, username)
				return nil
			})
		},
	}
}

func runUsersCreate(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("users create takes one USERNAME, got %d arguments", c.NArg())
	}
	username := c.Args().First()
	role, ok := auth.ParseRole(c.String("role"))
	if !ok {
		return usageError("--role %q: want admin, op or viewer", c.String("role"))
	}
	password, generated := c.String("password"), false
	switch {
	case password != "" && c.Bool("generate-password"):
		return usageError("give --password or --generate-password, not both")
	case c.Bool("generate-password"):
		var err error
		if password, err = auth.GeneratePassword(); err != nil {
			return internalError(err)
		}
		generated = true
	case password == "":
		var err error
		if password, err = readPassword(c.App.Reader, c.App.ErrWriter); err != nil {
			return usageError("%v", err)
		}
	}
	hash, err := auth.HashPassword(password)
	if errors.Is(err, auth.ErrWeakPassword) {
		return usageError("%v", err)
	}
	if err != nil {
		return internalError(err)
	}
	return withStore(c, func(s store.Store) error {
		if _, err := s.UserCreate(c.Context, &store.UserCreateParams{Username: username, PasswordHash: hash, Role: string(role)}); err != nil {
			return err
		}
		cliAudit(c, s, store.AuditEntry{Event: store.AuditUserCreate, Extra: "username=" + username + " role=" + string(role)})
		fmt.Fprintf(c.App.Writer, "created user %s with role %s\n", username, role)
		if generated {
			fmt.Fprintf(c.App.Writer, "password: %s\n", password)
		}
		return nil
	})
}

// readPassword reads a password line from r (a terminal echoes it: pipe
// it in, or use STARFLOW_PASSWORD).
func readPassword(r io.Reader, prompt io.Writer) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	fmt.Fprint(prompt, "password: ")
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given: pass --password, set STARFLOW_PASSWORD, pipe one in, or use --generate-password")
	}
	return line, nil
}

// tokensCommand manages API tokens.
func tokensCommand() *cli.Command {
	return &cli.Command{
		Name:  "tokens",
		Usage: "manage REST API bearer tokens",
		Subcommands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a token that acts as --user with its role; the token is printed once",
				Flags: []cli.Flag{
					databaseURLFlag(),
					&cli.StringFlag{Name: "name", Usage: "what the token is for (unique per user)", Required: true},
					&cli.StringFlag{Name: "user", Usage: "the user the token acts as", Required: true},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 0 {
						return usageError("tokens create takes no arguments")
					}
					token, hash, err := auth.NewToken()
					if err != nil {
						return internalError(err)
					}
					return withStore(c, func(s store.Store) error {
						if _, err := s.APITokenCreate(c.Context, &store.APITokenCreateParams{Name: c.String("name"), Username: c.String("user"), Hash: hash}); err != nil {
							return err
						}
						fmt.Fprintln(c.App.Writer, token)
						return nil
					})
				},
			},
			{
				Name:  "list",
				Usage: "list tokens (never their values)",
				Flags: []cli.Flag{databaseURLFlag(), outputFlag(), &cli.StringFlag{Name: "user", Usage: "only this user's tokens"}},
				Action: func(c *cli.Context) error {
					out, err := newPrinter(c)
					if err != nil {
						return err
					}
					return withStore(c, func(s store.Store) error {
						toks, err := s.APITokenList(c.Context, c.String("user"))
						if err != nil {
							return err
						}
						rows := make([][]string, len(toks))
						for i, t := range toks {
							rows[i] = []string{fmt.Sprint(t.ID), t.Username, t.Name, t.CreatedAt.Format(time.RFC3339)}
						}
						if toks == nil {
							toks = []*store.APIToken{}
						}
						return out.print(toks, []string{"ID", "USER", "NAME", "CREATED"}, rows)
					})
				},
			},
			{
				Name:      "delete",
				Usage:     "revoke a token by its id (see tokens list)",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{databaseURLFlag()},
				Action: func(c *cli.Context) error {
					var id int64
					if c.NArg() != 1 {
						return usageError("tokens delete takes one ID")
					}
					if _, err := fmt.Sscan(c.Args().First(), &id); err != nil {
						return usageError("token id %q: want a number (see tokens list)", c.Args().First())
					}
					return withStore(c, func(s store.Store) error {
						if err := s.APITokenDelete(c.Context, id); err != nil {
							return err
						}
						fmt.Fprintf(c.App.Writer, "revoked token %d\n", id)
						return nil
					})
				},
			},
		},
	}
}

// bootstrapAdmin creates the user admin with a random password when the
// store has no user yet, and prints the password once to w.
func bootstrapAdmin(ctx context.Context, s store.Store, w io.Writer) error {
	users, err := s.UserList(ctx)
	if err != nil || len(users) > 0 {
		return err
	}
	password, err := auth.GeneratePassword()
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	if _, err := s.UserCreate(ctx, &store.UserCreateParams{Username: "admin", PasswordHash: hash, Role: string(auth.RoleAdmin)}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // another process made it first
		}
		return err
	}
	fmt.Fprint(w, box(
		fmt.Sprintf("Starflow webserver: created user \"admin\" with password %s", password),
		"Shown once: note it now. Forgot it? Set a new one with",
		"  starflow users reset-password admin --generate-password",
	))
	return nil
}

// box draws lines in an ASCII frame, with a blank line before and after.
func box(lines ...string) string {
	width := 0
	for _, l := range lines {
		width = max(width, len(l))
	}
	edge := "+" + strings.Repeat("-", width+2) + "+\n"
	var b strings.Builder
	b.WriteString("\n" + edge)
	for _, l := range lines {
		b.WriteString("| " + l + strings.Repeat(" ", width-len(l)) + " |\n")
	}
	b.WriteString(edge + "\n")
	return b.String()
}
