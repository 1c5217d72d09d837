package sensors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/starflow-dev/starflow/operators"
)

// FileKind is the operator kind of file sensors.
const FileKind = "file_sensor"

// FileSensor waits for a file, or for a glob pattern to match one, as
// Airflow's FileSensor: a match that is a directory counts once it holds
// a file somewhere below it.
type FileSensor struct{ Base }

var (
	_ operators.Operator  = (*FileSensor)(nil)
	_ operators.Specified = (*FileSensor)(nil)
)

// Spec describes the arguments of file sensors.
func (*FileSensor) Spec() operators.Spec {
	return newSpec(FileKind, "Waits for a file (or a glob pattern) to exist.", 1,
		operators.Param{Name: "filepath", Type: operators.ParamString, Required: true, Templated: true,
			Doc: "the file, directory or glob pattern (*, ?, [...]) to wait for; a template"},
		operators.Param{Name: "recursive", Type: operators.ParamBool, Default: false,
			Doc: "let ** in the pattern match any number of directories"},
	)
}

// Execute pokes for the file until it exists.
func (s *FileSensor) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	a, err := args(ctx, c, s.Spec())
	if err != nil {
		return nil, err
	}
	pattern := a.String("filepath")
	if pattern == "" {
		return nil, operators.Fail(errors.New("file_sensor: filepath is empty"))
	}
	recursive := a.Bool("recursive")
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, operators.Fail(fmt.Errorf("file_sensor: bad pattern %q: %w", pattern, err))
	}
	return s.Run(ctx, c, a, func(ctx context.Context) (bool, error) {
		found, err := findFile(ctx, pattern, recursive)
		if err != nil {
			return false, fmt.Errorf("file_sensor: %w", err)
		}
		if found == "" {
			c.Logf("Poking for file %s: not yet", pattern)
			return false, nil
		}
		c.Logf("Poking for file %s: found %s", pattern, found)
		return true, nil
	})
}

// findFile returns a file matching pattern: a matching file, or a file
// inside a matching directory; "" when there is none yet.
func findFile(ctx context.Context, pattern string, recursive bool) (string, error) {
	matches, err := glob(ctx, pattern, recursive)
	if err != nil {
		return "", err
	}
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			continue // vanished meanwhile, or a dangling link
		}
		if !fi.IsDir() {
			return m, nil
		}
		if f := fileBelow(ctx, m); f != "" {
			return f, nil
		}
	}
	return "", nil
}

// fileBelow returns a file somewhere inside dir, or "".
func fileBelow(ctx context.Context, dir string) string {
	var found string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are not there yet
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.IsDir() {
			found = p
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// glob returns the paths matching pattern. Without recursive it is
// filepath.Glob; with it a path element "**" matches any number of
// directories (none included), as Python's glob(recursive=True).
func glob(ctx context.Context, pattern string, recursive bool) ([]string, error) {
	if !recursive || !strings.Contains(pattern, "**") {
		return filepath.Glob(pattern)
	}
	clean := filepath.Clean(pattern)
	parts := strings.Split(clean, string(filepath.Separator))
	// The walk starts at the longest prefix without meta characters.
	i := 0
	for i < len(parts) && !hasMeta(parts[i]) {
		i++
	}
	root := strings.Join(parts[:i], string(filepath.Separator))
	switch {
	case root == "" && filepath.IsAbs(clean):
		root = string(filepath.Separator)
	case root == "":
		root = "."
	}
	rest := parts[i:]
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return fs.SkipAll // the root does not exist yet
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, rerr := filepath.Rel(root, p)
		if rerr != nil || rel == "." {
			return nil
		}
		if matchParts(rest, strings.Split(rel, string(filepath.Separator))) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// matchParts matches path elements against pattern elements, "**"
// matching zero or more elements.
func matchParts(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for k := 0; k <= len(name); k++ {
				if matchParts(pat[1:], name[k:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := filepath.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
