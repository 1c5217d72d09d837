package testdb

import (
	"context"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
)

func TestEachGivesAWorkingStoreOfBothKinds(t *testing.T) {
	t.Parallel()
	Each(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if err := s.VariableSet(ctx, &store.VariableSetParams{Key: "k", Value: "secret-value", Secret: true}); err != nil {
			t.Fatal(err)
		}
		v, err := s.VariableGet(ctx, "k")
		if err != nil || v.Value != "secret-value" {
			t.Errorf("VariableGet = %v, %v", v, err)
		}
		if st, err := s.SchemaStatus(ctx); err != nil || !st.UpToDate() {
			t.Errorf("SchemaStatus = %+v, %v", st, err)
		}
	})
}
