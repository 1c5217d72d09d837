package sql

import (
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// readRow reads the current row as a list of JSON-like values, or as a
// dict keyed by column name when asDict is set.
func readRow(rows pgx.Rows, asDict bool) (any, error) {
	vals, err := rows.Values()
	if err != nil {
		return nil, err
	}
	fields := rows.FieldDescriptions()
	if asDict {
		m := make(map[string]any, len(vals))
		for i, v := range vals {
			m[fields[i].Name] = plain(v, fields[i].DataTypeOID, 0)
		}
		return m, nil
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = plain(v, fields[i].DataTypeOID, 0)
	}
	return out, nil
}

// plain converts a value pgx decoded into a JSON-like value an XCom can
// hold: integers → int64, floats and exact numerics → float64 (integral
// numerics → int64), timestamps → RFC 3339 strings, dates → "2006-01-02",
// bytea → "\x…" hex as PostgreSQL prints it, UUIDs → their text, arrays →
// lists, json → its value; anything else → its text form.
func plain(v any, oid uint32, depth int) any {
	if depth > 32 {
		return fmt.Sprint(v)
	}
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return float64(x)
		}
		return int64(x)
	case float32:
		return float64(x)
	case time.Time:
		if oid == pgtype.DateOID {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339Nano)
	case []byte:
		return `\x` + hex.EncodeToString(x)
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16])
	case pgtype.Numeric:
		return numeric(x)
	case netip.Prefix:
		return x.String()
	case netip.Addr:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e, 0, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e, 0, depth+1)
		}
		return out
	case fmt.Stringer:
		return x.String()
	case driver.Valuer:
		dv, err := x.Value()
		if err != nil {
			return fmt.Sprint(v)
		}
		if _, same := dv.(driver.Valuer); same {
			return fmt.Sprint(dv)
		}
		return plain(dv, oid, depth+1)
	}
	return fmt.Sprint(v)
}

// numeric converts a NUMERIC: an integral value that fits → int64, NaN
// and infinities → their names, anything else → float64.
func numeric(n pgtype.Numeric) any {
	if !n.Valid {
		return nil
	}
	if n.NaN {
		return "NaN"
	}
	switch n.InfinityModifier {
	case pgtype.Infinity:
		return "Infinity"
	case pgtype.NegativeInfinity:
		return "-Infinity"
	}
	if n.Exp >= 0 && n.Int != nil {
		i := new(big.Int).Mul(n.Int, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n.Exp)), nil))
		if i.IsInt64() {
			return i.Int64()
		}
	}
	f, err := n.Float64Value()
	if err != nil || !f.Valid {
		return nil
	}
	return f.Float64
}
