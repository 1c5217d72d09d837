package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/builtins"
)

// Rule ids of import errors.
const (
	RuleSyntax    = "syntax-error"   // the file does not parse or resolve
	RuleImport    = "import-error"   // evaluation failed (an error raised by Starlark or a builtin)
	RuleTimeout   = "timeout"        // evaluation ran longer than Options.Timeout
	RuleStepLimit = "step-limit"     // evaluation ran more than Options.MaxSteps steps
	RuleFileSize  = "file-too-large" // a file or module is over Options.MaxFileSize
	RuleSizeLimit = "size-limit"     // a string or list built at parse time is too large
)

// readError is a failure to read a DAG file or module.
type readError struct {
	path, name string
	err        error
}

func (e *readError) Error() string {
	if errors.Is(e.err, fs.ErrNotExist) {
		return "no such file in the DAG folder"
	}
	return e.err.Error()
}

func (e *readError) Unwrap() error { return e.err }

// findings turns an evaluation error into findings of one line each,
// "file:line:col: message", placed at the innermost frame of user code.
func (ev *evaluation) findings(err error, fileName string) []dags.Finding {
	top := dags.Pos{File: fileName, Line: 1, Col: 1}
	var se syntax.Error
	if errors.As(err, &se) {
		return []dags.Finding{{Pos: builtins.ToPos(se.Pos), Rule: RuleSyntax, Message: se.Msg}}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		out := make([]dags.Finding, 0, len(rl))
		for _, e := range rl {
			out = append(out, dags.Finding{Pos: builtins.ToPos(e.Pos), Rule: RuleSyntax, Message: e.Msg})
		}
		return out
	}

	// The outermost and innermost EvalError: a module that fails inside
	// load() nests its error in the loading file's.
	var outer, inner *starlark.EvalError
	for e := error(err); e != nil; {
		var ee *starlark.EvalError
		if !errors.As(e, &ee) {
			break
		}
		if outer == nil {
			outer = ee
		}
		inner = ee
		e = ee.Unwrap()
	}
	pos, msg := top, err.Error()
	if inner != nil {
		pos, msg = userPos(inner, top), inner.Msg
		if inner != outer {
			msg += fmt.Sprintf(" (in a module loaded at %s)", userPos(outer, top))
		}
	}

	rule := RuleImport
	var sizeErr *SizeError
	var re *readError
	switch {
	case ev.stepLimit.Load():
		rule = RuleStepLimit
		msg = fmt.Sprintf("evaluation exceeded the limit of %d steps; is there an unbounded loop?", ev.opts.MaxSteps)
	case ev.timedOut.Load():
		rule = RuleTimeout
		msg = fmt.Sprintf("evaluation took longer than the limit of %s", ev.opts.Timeout)
	case ev.parent.Err() != nil:
		msg = "evaluation was cancelled: " + ev.parent.Err().Error()
	case errors.As(err, &sizeErr):
		rule = RuleSizeLimit
	case errors.As(err, &re):
		if errors.Is(re.err, errTooLarge) {
			rule = RuleFileSize
		}
		if inner == nil { // the DAG file itself
			msg = re.Error()
		}
	}
	return []dags.Finding{{Pos: pos, Rule: rule, Message: msg}}
}

// userPos returns the position of the innermost frame of an EvalError
// that is in a source file (not a builtin), or def.
func userPos(e *starlark.EvalError, def dags.Pos) dags.Pos {
	for i := len(e.CallStack) - 1; i >= 0; i-- {
		p := e.CallStack[i].Pos
		if p.IsValid() && p.Filename() != "<builtin>" {
			return builtins.ToPos(p)
		}
	}
	return def
}

// oneLine escapes line breaks, which user strings (a module name, say) can
// bring into a message, so that every finding is one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}
