package templates

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
)

// connections is the `conn` of the template context, Airflow's
// ConnectionAccessor: `conn.my_conn.host` reads a connection and fails
// when it does not exist; `conn.get('my_conn')` gives None instead (or
// default_conn).
type connections struct {
	ctx   context.Context
	conns operators.Connections
}

// String returns how the accessor prints.
func (c *connections) String() string { return "<conn>" }

// GetAttribute implements exec.AttributeGetter.
func (c *connections) GetAttribute(name string) (*exec.Value, bool) {
	if name == "get" {
		return exec.AsValue(c.getFunc), true
	}
	return c.item(name)
}

// GetItem implements exec.ItemGetter: conn['my_conn'].
func (c *connections) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(fmt.Errorf("connection ids are strings, got %v", key)), false
	}
	return c.item(name)
}

func (c *connections) item(id string) (*exec.Value, bool) {
	cn, err := c.lookup(id)
	if err != nil {
		return exec.AsValue(err), false
	}
	if cn == nil {
		return exec.AsValue(fmt.Errorf("the conn_id `%s` isn't defined (use conn.get(%q) for None instead)", id, id)), false
	}
	return exec.ToValue(cn), true
}

// getFunc implements get(conn_id, default_conn=None).
func (c *connections) getFunc(va *exec.VarArgs) (any, error) {
	a, err := unpack("conn.get", va, "key", "default_conn?")
	if err != nil {
		return nil, err
	}
	id, err := a.str(0)
	if err != nil {
		return nil, err
	}
	cn, err := c.lookup(id)
	if err != nil {
		return nil, err
	}
	if cn != nil {
		return cn, nil
	}
	if a.has(1) {
		return a.vals[1].Interface(), nil
	}
	return None, nil
}

// lookup returns the connection as a template object, nil when it does
// not exist.
func (c *connections) lookup(id string) (*object, error) {
	if c.conns == nil {
		return nil, errors.New("connections are not available to this task")
	}
	cn, err := c.conns.Get(c.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read connection %q: %w", id, err)
	}
	if cn == nil {
		return nil, nil
	}
	return connectionObject(cn), nil
}

// connectionObject gives a connection Airflow's attributes: empty fields
// are None, extra is the JSON text and extra_dejson the dict.
func connectionObject(cn *operators.Connection) *object {
	orNone := func(s string) any {
		if s == "" {
			return None
		}
		return s
	}
	extra := map[string]any{}
	maps.Copy(extra, cn.Extra)
	var extraText any = None
	if len(extra) > 0 {
		if text, err := store.EncodeJSON("extra", extra, store.MaxXComBytes); err == nil {
			extraText = text
		}
	}
	var port any = None
	if cn.Port != 0 {
		port = cn.Port
	}
	uri := store.ConnectionURI(cn, true)
	return &object{repr: cn.ID, attrs: map[string]any{
		"conn_id": cn.ID, "conn_type": orNone(cn.Type), "host": orNone(cn.Host), "login": orNone(cn.Login),
		"password": orNone(cn.Password), "schema": orNone(cn.Schema), "port": port,
		"extra": extraText, "extra_dejson": pyValue(extra),
		"get_uri": func(*exec.VarArgs) (any, error) { return uri, nil },
	}}
}
