package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/operators"
)

// bashTemplateExt is the bash operator's template_ext, as in Airflow's
// BashOperator.
var bashTemplateExt = []string{".sh", ".bash"}

// searchPathOf reads dag(template_searchpath=...): a folder or a list of
// folders, relative to the DAG file's folder entryDir or, written
// "//folder", to the DAG folder root. They must lie inside the DAG folder:
// template files travel with the DAG version.
func searchPathOf(entryDir string, v starlark.Value) ([]string, error) {
	var items []starlark.Value
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		items = []starlark.Value{x}
	case *starlark.List:
		for i := 0; i < x.Len(); i++ {
			items = append(items, x.Index(i))
		}
	default:
		return nil, fmt.Errorf("got %s, want a folder or a list of folders", v.Type())
	}
	var out []string
	for _, it := range items {
		s, ok := it.(starlark.String)
		if !ok {
			return nil, fmt.Errorf("got %s in the list, want strings", it.Type())
		}
		dir, ok := folderPath(entryDir, string(s))
		if !ok {
			return nil, fmt.Errorf("%q is not a folder inside the DAG folder (Starflow template files travel with the DAG version; give a folder relative to the DAG file, or \"//folder\" from the DAG folder root)", string(s))
		}
		out = append(out, dir)
	}
	return out, nil
}

// folderPath joins p to dir (or to the root when p starts with "//") and
// tells whether the result stays inside the DAG folder root.
func folderPath(dir, p string) (string, bool) {
	if strings.HasPrefix(p, "//") {
		dir, p = ".", strings.TrimPrefix(p, "//")
	}
	if p == "" || strings.HasPrefix(p, "/") {
		return "", false
	}
	clean := path.Join(dir, p)
	if clean == ".." || strings.HasPrefix(clean, "../") || !fs.ValidPath(clean) {
		return "", false
	}
	return clean, true
}

// templateFile tells whether v, a templated value, names a template file
// by one of exts. As in Airflow, a value with trailing white space is
// never a file name: "script.sh " runs the script itself.
func templateFile(v any, exts []string) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" || strings.TrimRightFunc(s, isSpace) != s {
		return "", false
	}
	for _, e := range exts {
		if strings.HasSuffix(s, e) {
			return s, true
		}
	}
	return "", false
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// resolveTemplateFiles implements Airflow's resolve_template_files for the
// task being created: each of names whose value in cfg ends in one of
// exts is looked up in the DAG file's folder, then in the DAG's
// template_searchpath; the file found is read into the DAG version and
// its root path stored under operators.TemplateFilesKey, for the operator
// to render its contents at run time. A missing file is an error at the
// task's position.
func resolveTemplateFiles(thread *starlark.Thread, fnName string, cfg map[string]any, names, exts []string) error {
	s := SessionOf(thread)
	if s == nil || len(exts) == 0 {
		return nil
	}
	var dirs []string
	dirs = append(dirs, s.entryDir)
	if b := s.current; b != nil {
		dirs = append(dirs, b.searchPath...)
	}
	read := s.fileReader()
	found := map[string]any{}
	for _, name := range names {
		file, ok := templateFile(cfg[name], exts)
		if !ok {
			continue
		}
		p, err := findTemplate(read, dirs, file)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", fnName, name, err)
		}
		found[name] = p
	}
	if len(found) > 0 {
		cfg[operators.TemplateFilesKey] = found
	}
	return nil
}

// findTemplate returns the root path of the first of dirs holding file.
func findTemplate(read operators.FileReader, dirs []string, file string) (string, error) {
	for _, dir := range dirs {
		p, ok := folderPath(dir, file)
		if !ok {
			return "", fmt.Errorf("template file %q is outside the DAG folder", file)
		}
		_, err := read(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("template file %q: %w", file, err)
		}
	}
	return "", fmt.Errorf("template file %q not found in %s (the DAG file's folder, then template_searchpath); end the value with a space to run it as a command instead", file, strings.Join(dirs, ", "))
}
