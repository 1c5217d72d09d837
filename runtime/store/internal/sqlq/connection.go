package sqlq

import (
	"context"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
)

// WithSecrets returns m with the cipher that seals the secrets it writes
// and opens those it reads (variables, connection passwords).
func (m Methods) WithSecrets(c secrets.Cipher) Methods {
	m.secrets = c
	return m
}

// connectionUpdateSQL is the UPDATE of store.Store.ConnectionUpdate (p
// normalized, its password already sealed into password): only the
// columns p sets, and updated_at.
func connectionUpdateSQL(d Dialect, p *store.ConnectionUpdateParams, password, extra *string) (query string, args []any) {
	var sets []string
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, col+" = "+d.Param(len(args)))
	}
	for _, f := range []struct {
		col string
		v   *string
	}{{"conn_type", p.Type}, {"description", p.Description}, {"host", p.Host}, {"schema", p.Schema},
		{"login", p.Login}, {"password", password}, {"extra", extra}} {
		if f.v != nil {
			set(f.col, *f.v)
		}
	}
	if p.Port != nil {
		set("port", *p.Port)
	}
	set("updated_at", d.Time(now()))
	args = append(args, p.ConnID)
	return "UPDATE connection SET " + strings.Join(sets, ", ") + " WHERE conn_id = " + d.Param(len(args)), args
}

// ConnectionUpdate is store.Store.ConnectionUpdate over a store's Conn.
func (m Methods) ConnectionUpdate(ctx context.Context, p *store.ConnectionUpdateParams) error {
	if err := p.Normalize(); err != nil {
		return err
	}
	var password, extra *string
	if p.Password != nil {
		sealed := ""
		if *p.Password != "" {
			var err error
			if sealed, err = store.Seal(m.secrets, fmt.Sprintf("password of connection %q", p.ConnID), *p.Password); err != nil {
				return err
			}
		}
		password = &sealed
	}
	if p.Extra != nil {
		e, err := store.EncodeConnectionExtra(p.ConnID, p.Extra)
		if err != nil {
			return err
		}
		extra = &e
	}
	q, args := connectionUpdateSQL(m.c.D, p, password, extra)
	return ExecOne(ctx, m.c, fmt.Sprintf("update connection %q", p.ConnID), q, args...)
}
