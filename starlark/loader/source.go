package loader

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing/fstest"
)

// Source is a DAG folder to read files and modules from. FS holds them by
// slash-separated paths relative to the folder root, the root that
// load("//...") paths start from. Dir is how positions name that root
// ("dags" gives "dags/etl.star:3:1"); empty leaves paths relative.
type Source struct {
	FS  fs.FS
	Dir string

	// root and bundle tell an Isolator where to read the files: the
	// folder of a DirSource, the texts of a BundleSource.
	root   string
	bundle map[string]string
}

// DirSource returns the Source of a directory on disk.
func DirSource(dir string) Source { return Source{FS: os.DirFS(dir), Dir: dir, root: dir} }

// BundleSource returns a Source over source texts by root-relative path,
// such as File.Sources, so that a worker evaluates exactly what the
// scheduler parsed without the DAG folder. dir names the root in
// positions, as in DirSource.
func BundleSource(dir string, files map[string]string) Source {
	// fstest.MapFS is a complete read-only in-memory fs.FS; it does not
	// depend on package testing.
	m := make(fstest.MapFS, len(files))
	for p, content := range files {
		m[p] = &fstest.MapFile{Data: []byte(content), Mode: 0o444}
	}
	return Source{FS: m, Dir: dir, bundle: files}
}

// Name returns how positions and findings name the file at rel.
func (s Source) Name(rel string) string { return s.name(rel) }

// name returns how positions and findings name the file at rel.
func (s Source) name(rel string) string {
	if s.Dir == "" || s.Dir == "." {
		return rel
	}
	return filepath.Join(s.Dir, filepath.FromSlash(rel))
}

// errTooLarge marks a file larger than Options.MaxFileSize.
var errTooLarge = errors.New("file too large")

// read returns the content of the file at rel, refusing files over max bytes.
func (s Source) read(rel string, max int64) (string, error) {
	if !fs.ValidPath(rel) {
		return "", fmt.Errorf("invalid path %q", rel)
	}
	f, err := s.FS.Open(rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return "", fmt.Errorf("%s is a directory", rel)
		}
		if st.Size() > max {
			return "", fmt.Errorf("%w: %s has %d bytes, the limit is %d", errTooLarge, path.Base(rel), st.Size(), max)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > max {
		return "", fmt.Errorf("%w: %s has more than %d bytes", errTooLarge, path.Base(rel), max)
	}
	return string(b), nil
}
