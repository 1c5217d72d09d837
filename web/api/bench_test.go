package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/api"
	"github.com/starflow-dev/starflow/web/auth"
)

// benchServer is the API behind RequireAuth over a SQLite store with n
// DAGs, and a viewer's bearer token.
func benchServer(b *testing.B, n int) (http.Handler, string) {
	b.Helper()
	ctx := context.Background()
	st := testdb.SQLite(b)
	for i := range n {
		if _, err := st.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: fmt.Sprintf("dag_%04d", i), File: fmt.Sprintf("/dags/dag_%04d.star", i),
			SourceHash: "h", Schedule: "@daily", Description: "a benchmark DAG", Tags: []string{"bench", fmt.Sprintf("team-%d", i%10)}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.UserCreate(ctx, &store.UserCreateParams{Username: "v", PasswordHash: "x", Role: "viewer"}); err != nil {
		b.Fatal(err)
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "bench", Username: "v", Hash: hash}); err != nil {
		b.Fatal(err)
	}
	a, err := auth.New(auth.Options{Backend: st})
	if err != nil {
		b.Fatal(err)
	}
	return a.RequireAuth(api.New(api.Deps{Store: st, Logger: quietLogger()})), tok
}

// BenchmarkDAGList serves GET /api/v1/dags (the first page of 100) with
// 1,000 DAGs in the store, authenticated by bearer token.
func BenchmarkDAGList(b *testing.B) {
	for _, target := range []string{"/api/v1/dags", "/api/v1/dags?limit=10", "/api/v1/dags/dag_0500"} {
		b.Run(target, func(b *testing.B) {
			h, tok := benchServer(b, 1000)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", target, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}
