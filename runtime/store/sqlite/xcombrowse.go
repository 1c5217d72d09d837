package sqlite

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// XComBrowse returns XComs across DAGs and runs, newest first.
func (s *Store) XComBrowse(ctx context.Context, p *store.XComBrowseParams) ([]*store.XCom, error) {
	p.Normalize()
	q, args := sqlq.XComBrowse(sqlq.SQLite, p)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("browse xcoms: %w", err)
	}
	defer rows.Close()
	out := []*store.XCom{}
	for rows.Next() {
		x, err := scanXCom(rows)
		if err != nil {
			return nil, fmt.Errorf("browse xcoms: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("browse xcoms: %w", err)
	}
	return out, nil
}
