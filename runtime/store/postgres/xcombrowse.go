package postgres

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/internal/sqlq"
)

// XComBrowse returns XComs across DAGs and runs, newest first.
func (s *Store) XComBrowse(ctx context.Context, p *store.XComBrowseParams) ([]*store.XCom, error) {
	p.Normalize()
	q, args := sqlq.XComBrowse(sqlq.Postgres, p)
	var out []*store.XCom
	err := s.do(ctx, func(int) error {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		out, err = scanAll(rows, scanXCom)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("browse xcoms: %w", err)
	}
	if out == nil {
		out = []*store.XCom{}
	}
	return out, nil
}
