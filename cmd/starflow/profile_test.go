package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCPUProfileFlagWritesAProfile(t *testing.T) {
	dir := t.TempDir()
	dag := filepath.Join(dir, "prof.star")
	if err := os.WriteFile(dag, []byte(`
def build():
    a = empty(task_id = "a")
    b = empty(task_id = "b")
    a >> b

dag(dag_id = "prof", build = build)
`), 0o644); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "cpu.pprof")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"starflow", "test-dag", dag, "--cpuprofile", prof}, &stdout, &stderr); code != exitOK {
		t.Fatalf("test-dag --cpuprofile: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	// A pprof profile is a gzip-compressed protocol buffer.
	if len(data) < 20 || data[0] != 0x1f || data[1] != 0x8b {
		t.Fatalf("%s is not a pprof profile (%d bytes: % x…)", prof, len(data), data[:min(len(data), 8)])
	}

	stderr.Reset()
	bad := filepath.Join(dir, "missing", "cpu.pprof")
	if code := run([]string{"starflow", "test-dag", dag, "--cpuprofile", bad}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("--cpuprofile into a missing folder: exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "--cpuprofile") || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
		t.Errorf("stderr = %q, want one line naming --cpuprofile", stderr.String())
	}
}
