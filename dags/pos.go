package dags

import "fmt"

// Pos is a position in a DAG source file: the place a task, a DAG or an
// edge was defined, so that a finding reported long after parsing still
// points at the user's line.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsValid reports whether the position names a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String formats the position as file:line:col, the form editors and CI
// annotations understand.
func (p Pos) String() string {
	file := p.File
	if file == "" {
		file = "<unknown>"
	}
	if !p.IsValid() {
		return file
	}
	if p.Col <= 0 {
		return fmt.Sprintf("%s:%d", file, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
}

// Finding is one problem found while validating a DAG: where it was, a
// stable rule id and a message for a person.
type Finding struct {
	Pos     Pos    `json:"pos"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Error formats the finding as "file:line:col: message [rule]".
func (f Finding) Error() string {
	return fmt.Sprintf("%s: %s [%s]", f.Pos, f.Message, f.Rule)
}

// Validation rule ids reported by Finalize.
const (
	RuleCycle           = "cycle"
	RuleDuplicateTask   = "duplicate-task-id"
	RuleTriggerRule     = "unknown-trigger-rule"
	RuleWeightRule      = "unknown-weight-rule"
	RuleSchedule        = "bad-schedule"
	RuleDateOrder       = "start-after-end"
	RuleEmptyDAG        = "empty-dag"
	RuleUnknownTask     = "unknown-task"
	RuleBranchTarget    = "bad-branch-target"
	RuleInvalidValue    = "invalid-value"
	RuleSelfDependency  = "self-dependency"
	RuleDuplicateDAG    = "duplicate-dag-id"
	RuleInvalidDAGID    = "invalid-dag-id"
	RuleTimezone        = "bad-timezone"
	RuleMissingArgument = "missing-argument"
	RuleSetupTeardown   = "bad-setup-teardown"
)
