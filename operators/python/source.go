package python

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/starflow-dev/starflow/operators"
)

// maxModules bounds how many .py files of the DAG folder one task brings
// into its DAG version.
const maxModules = 200

// Callable is a parsed python_callable: "lib/transform.py:clean" is the
// function clean of the file lib/transform.py, a path from the DAG folder
// root.
type Callable struct {
	File     string // slash path from the DAG folder root
	Function string
}

// Module returns the module name the file is imported as: lib.transform.
func (c Callable) Module() string {
	return strings.ReplaceAll(strings.TrimSuffix(c.File, ".py"), "/", ".")
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseCallable reads a python_callable string.
func ParseCallable(s string) (Callable, error) {
	file, fn, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || file == "" || fn == "" {
		return Callable{}, fmt.Errorf("python_callable %q: want \"file.py:function\", a .py file of the DAG folder and a function it defines", s)
	}
	file = strings.TrimPrefix(file, "//")
	clean := path.Clean(file)
	if !strings.HasSuffix(clean, ".py") || strings.HasPrefix(file, "/") || clean == ".." || strings.HasPrefix(clean, "../") || !fs.ValidPath(clean) {
		return Callable{}, fmt.Errorf("python_callable %q: %q is not a .py file inside the DAG folder (give a path from the folder root, such as \"lib/transform.py:clean\")", s, file)
	}
	for _, part := range strings.Split(strings.TrimSuffix(clean, ".py"), "/") {
		if !identRE.MatchString(part) {
			return Callable{}, fmt.Errorf("python_callable %q: %q cannot be imported as a Python module (each folder and the file name must be an identifier)", s, clean)
		}
	}
	if !identRE.MatchString(fn) {
		return Callable{}, fmt.Errorf("python_callable %q: %q is not a Python function name", s, fn)
	}
	return Callable{File: clean, Function: fn}, nil
}

// readFiles is the operator's operators.Spec.Files: it reads the file of
// python_callable, checks that it defines the function, and reads the
// modules of the DAG folder it imports, transitively.
func readFiles(config map[string]any, read operators.FileReader) error {
	s, _ := config["python_callable"].(string)
	c, err := ParseCallable(s)
	if err != nil {
		return err
	}
	src, err := read(c.File)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("python_callable %q: there is no file %s in the DAG folder", s, c.File)
	}
	if err != nil {
		return fmt.Errorf("python_callable %q: %w", s, err)
	}
	if err := checkDefines(c, src); err != nil {
		return err
	}
	seen := map[string]bool{c.File: true}
	queue := []string{c.File}
	contents := map[string]string{c.File: src}
	for len(queue) > 0 && len(seen) < maxModules {
		file := queue[0]
		queue = queue[1:]
		for _, cand := range importCandidates(file, contents[file]) {
			if seen[cand] {
				continue
			}
			seen[cand] = true
			content, err := read(cand)
			if err != nil {
				continue // not a module of the DAG folder (stdlib, site-packages)
			}
			contents[cand] = content
			queue = append(queue, cand)
		}
	}
	return nil
}

var (
	defRE      = regexp.MustCompile(`(?m)^(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)|^class[ \t]+([A-Za-z_][A-Za-z0-9_]*)|^([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[^=\n]*)?=[^=]`)
	fromRE     = regexp.MustCompile(`(?m)^[ \t]*from[ \t]+(\.*[A-Za-z0-9_.]*)[ \t]+import[ \t]+\(?([^#\n]*)`)
	importRE   = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+([^#\n]+)`)
	starImport = regexp.MustCompile(`(?m)^[ \t]*from[ \t]+\S+[ \t]+import[ \t]+\*`)
)

// checkDefines reports a function the file does not define at its top
// level (a def, a class, an assignment or an import of that name), with
// the names it does define. A file with `from x import *` is not checked.
func checkDefines(c Callable, src string) error {
	if starImport.MatchString(src) {
		return nil
	}
	var names []string
	for _, m := range defRE.FindAllStringSubmatch(src, -1) {
		for _, n := range m[1:] {
			if n == c.Function {
				return nil
			}
			if n != "" && !strings.HasPrefix(n, "_") {
				names = append(names, n)
			}
		}
	}
	for _, m := range fromRE.FindAllStringSubmatch(src, -1) {
		for _, item := range strings.Split(strings.Trim(m[2], "() \t"), ",") {
			f := strings.Fields(item)
			if len(f) == 3 && f[1] == "as" && f[2] == c.Function || len(f) == 1 && f[0] == c.Function {
				return nil
			}
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("python_callable %q: %s defines no function %s", c.File+":"+c.Function, c.File, c.Function)
	if best := closest(c.Function, names); best != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", best)
	} else if len(names) > 0 {
		msg += fmt.Sprintf(" (it defines %s)", strings.Join(names, ", "))
	}
	return errors.New(msg)
}

// importCandidates returns the DAG-folder paths the imports of file may
// name: for `import a.b` and `from a.b import c`, a/b.py, a/b/__init__.py,
// a/__init__.py and a/b/c.py, from the folder root and from the file's own
// folder; relative imports from the file's package.
func importCandidates(file, src string) []string {
	dir := path.Dir(file)
	var mods []string
	for _, m := range importRE.FindAllStringSubmatch(src, -1) {
		for _, item := range strings.Split(m[1], ",") {
			if f := strings.Fields(item); len(f) > 0 {
				mods = append(mods, f[0])
			}
		}
	}
	var out []string
	add := func(base, mod string) {
		parts := strings.Split(mod, ".")
		for i := range parts {
			if !identRE.MatchString(parts[i]) {
				return
			}
			p := path.Join(base, path.Join(parts[:i+1]...))
			out = append(out, p+".py", p+"/__init__.py")
		}
	}
	for _, m := range fromRE.FindAllStringSubmatch(src, -1) {
		mod := m[1]
		var items []string
		for _, item := range strings.Split(strings.Trim(m[2], "() \t"), ",") {
			if f := strings.Fields(item); len(f) > 0 && identRE.MatchString(f[0]) {
				items = append(items, f[0])
			}
		}
		if strings.HasPrefix(mod, ".") {
			rel := strings.TrimLeft(mod, ".")
			base := dir
			for range len(mod) - len(rel) - 1 {
				base = path.Dir(base)
			}
			if rel != "" {
				add(base, rel)
			}
			for _, it := range items {
				add(base, strings.TrimPrefix(rel+"."+it, "."))
			}
			continue
		}
		mods = append(mods, mod)
		for _, it := range items {
			mods = append(mods, mod+"."+it)
		}
	}
	for _, mod := range mods {
		add(".", mod)
		if dir != "." {
			add(dir, mod)
		}
	}
	return out
}

// closest returns the name in names nearest to s when it is close enough
// to be a likely typo.
func closest(s string, names []string) string {
	best, bestD := "", len(s)/2+1
	for _, n := range names {
		if d := distance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
