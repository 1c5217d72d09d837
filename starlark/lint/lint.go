package lint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// File is one DAG file as the linter sees it: what the loader made of it.
type File struct {
	// Path names the file as shown to the user. It must be the name the
	// loader puts in the positions of this file's tasks and DAGs, so that
	// suppression comments in Source apply to them.
	Path string
	// Source is the file's text, read for the syntax-level rules and the
	// suppression comments. It may be nil (those are then skipped).
	Source []byte
	// DAGs are the DAGs the file defined; it may be empty.
	DAGs []*dags.DAG
	// Errors are the loader's import errors and validation findings. Each
	// becomes a finding of severity error.
	Errors []dags.Finding
	// Syntax optionally is the loader's parse of Source, which spares
	// Check parsing the text again; Check resolves it if the loader has
	// not. When nil, Check parses Source if a rule needs the tree.
	Syntax *syntax.File
}

// Severity says how bad a finding is.
type Severity string

// Severities of findings.
const (
	// SeverityError marks a file or DAG that cannot be loaded or scheduled.
	SeverityError Severity = "error"
	// SeverityWarning marks a DAG that loads but likely misbehaves.
	SeverityWarning Severity = "warning"
)

// Finding is one problem the linter reports.
type Finding struct {
	Pos      dags.Pos
	Rule     string
	Severity Severity
	Message  string
}

// String formats the finding as "file:line:col: severity: message [rule]",
// the line WriteText prints.
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s [%s]", f.Pos, f.Severity, f.Message, f.Rule)
}

// Options tune a Check.
type Options struct {
	// Now is the clock the time-based rules compare against (the start of
	// a catchup). The zero value means time.Now(); tests inject a fixed one.
	Now time.Time
	// Disabled lists warning rule ids not to report. Errors cannot be
	// disabled; Validate rejects them and unknown ids.
	Disabled []string
}

// Validate reports the first rule id in Disabled that is not a warning rule
// this package knows, so the CLI can refuse it as a usage error.
func (o Options) Validate() error {
	for _, id := range o.Disabled {
		r, ok := RuleByID(id)
		switch {
		case !ok:
			return fmt.Errorf("unknown lint rule %q (known warnings: %s)", id, strings.Join(warningIDs(), ", "))
		case r.Severity != SeverityWarning:
			return fmt.Errorf("lint rule %q reports errors, which cannot be disabled", id)
		}
	}
	return nil
}

// Check lints one file. It returns the file's errors (File.Errors and the
// validation findings of its DAGs, which Finalize returns; DAGs not yet
// finalized are finalized) and the warnings of every rule not disabled by
// opts or by a suppression comment, sorted by Sort and without duplicates.
func Check(f File, opts Options) []Finding {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := checker{path: f.Path, now: now}
	for _, e := range f.Errors {
		c.addError(e)
	}
	for _, d := range f.DAGs {
		if d == nil {
			continue
		}
		for _, e := range d.Finalize() {
			c.addError(e)
		}
		c.checkDAG(d)
	}
	src := scanSource(f.Path, f.Source, f.Syntax)
	c.out = append(c.out, src.unusedLoads...)
	c.out = filter(c.out, f.Path, src, opts.Disabled)
	Sort(c.out)
	return dedupe(c.out)
}

// checker accumulates the findings of one Check.
type checker struct {
	path string
	now  time.Time
	out  []Finding
}

// at fills in the file of a position that lacks one.
func (c *checker) at(p dags.Pos) dags.Pos {
	if p.File == "" {
		p.File = c.path
	}
	return p
}

func (c *checker) addError(e dags.Finding) {
	rule := e.Rule
	if rule == "" {
		rule = RuleImportError
	}
	c.out = append(c.out, Finding{Pos: c.at(e.Pos), Rule: rule, Severity: SeverityError, Message: e.Message})
}

func (c *checker) warn(p dags.Pos, rule, format string, args ...any) {
	c.out = append(c.out, Finding{Pos: c.at(p), Rule: rule, Severity: SeverityWarning, Message: fmt.Sprintf(format, args...)})
}

// filter drops the warnings that opts.Disabled or the file's suppression
// comments turn off. Errors always stay.
func filter(fs []Finding, path string, src source, disabled []string) []Finding {
	if len(disabled) == 0 && !src.hasDirectives() {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Severity == SeverityWarning {
			if slices.Contains(disabled, f.Rule) {
				continue
			}
			if (f.Pos.File == path || f.Pos.File == "") && src.suppressed(f.Rule, f.Pos.Line) {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// Sort orders findings by file, line, column, rule and message, the order
// every output format prints them in. The CLI sorts the findings of several
// files together with it.
func Sort(fs []Finding) {
	slices.SortFunc(fs, compare)
}

func compare(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Pos.File, b.Pos.File),
		cmp.Compare(a.Pos.Line, b.Pos.Line),
		cmp.Compare(a.Pos.Col, b.Pos.Col),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(a.Severity, b.Severity),
	)
}

// dedupe drops adjacent equal findings from a sorted slice: the loader may
// report a validation finding that Finalize returns again.
func dedupe(fs []Finding) []Finding {
	return slices.Compact(fs)
}

// ExitCode returns the exit code of "starflow lint" for these findings: 0
// when there are none, 1 when there is any error or warning.
func ExitCode(fs []Finding) int {
	if len(fs) == 0 {
		return 0
	}
	return 1
}
