package lint

import (
	"fmt"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// Ids of the rules this package reports as warnings.
const (
	RuleUnconnectedTask          = "unconnected-task"
	RuleTaskIDNotIdentifier      = "task-id-not-identifier"
	RuleScheduleWithoutStartDate = "schedule-without-start-date"
	RuleCatchupFarPast           = "catchup-far-past"
	RuleRetriesWithoutRetryDelay = "retries-without-retry-delay"
	RuleUnusedLoad               = "unused-load"
)

// RuleImportError is the loader's rule id for a file that failed while
// evaluated, also given to a loader error that carries no rule id.
const RuleImportError = "import-error"

// Limits of the catchup-far-past rule.
const (
	// CatchupFarPast is how far back a start_date may lie before a catchup
	// is worth a warning.
	CatchupFarPast = 365 * 24 * time.Hour
	// MaxCatchupCount bounds the schedule ticks counted for the message.
	MaxCatchupCount = 100_000
)

// Rule describes one rule: its stable id, the severity of its findings and
// a one-line summary. docs/lint.md has an entry for every rule.
type Rule struct {
	ID       string
	Severity Severity
	Summary  string
}

// rules is the read-only table behind Rules and RuleByID.
var rules = [...]Rule{
	{RuleUnconnectedTask, SeverityWarning, "a task with neither upstream nor downstream tasks in a DAG whose other tasks are connected"},
	{RuleTaskIDNotIdentifier, SeverityWarning, "a task id (or group id) that is not a Starlark identifier"},
	{RuleScheduleWithoutStartDate, SeverityWarning, "a periodic schedule without a start_date"},
	{RuleCatchupFarPast, SeverityWarning, "catchup=True with a start_date more than a year ago"},
	{RuleRetriesWithoutRetryDelay, SeverityWarning, "retries without a retry_delay, so the 5m default applies"},
	{RuleUnusedLoad, SeverityWarning, "a symbol imported by load() and never used"},
	// The loader's rule ids (starlark/loader).
	{"syntax-error", SeverityError, "the file does not parse, or uses a name that is not defined"},
	{RuleImportError, SeverityError, "the file failed while it was evaluated: a failing load(), a bad argument, a runtime error"},
	{"timeout", SeverityError, "evaluating the file took longer than the loader's time limit"},
	{"step-limit", SeverityError, "evaluating the file took more steps than the loader's limit"},
	{"file-too-large", SeverityError, "the file or a module it loads is larger than the loader accepts"},
	{"size-limit", SeverityError, "the file builds a string or list larger than the loader accepts"},
	// The validation rule ids of package dags.
	{dags.RuleCycle, SeverityError, "the DAG's dependencies form a cycle"},
	{dags.RuleDuplicateTask, SeverityError, "two tasks of one DAG share a task id"},
	{dags.RuleTriggerRule, SeverityError, "an unknown trigger_rule"},
	{dags.RuleWeightRule, SeverityError, "an unknown weight_rule"},
	{dags.RuleSchedule, SeverityError, "a schedule that is not a preset, a cron expression or a duration"},
	{dags.RuleDateOrder, SeverityError, "a start_date after the end_date"},
	{dags.RuleEmptyDAG, SeverityError, "a DAG without tasks"},
	{dags.RuleUnknownTask, SeverityError, "a dependency on a task that is not in the DAG"},
	{dags.RuleBranchTarget, SeverityError, "a branch that can choose a task that is not directly downstream of it"},
	{dags.RuleInvalidValue, SeverityError, "a setting out of range, such as negative retries"},
	{dags.RuleSelfDependency, SeverityError, "a task that depends on itself"},
	{dags.RuleDuplicateDAG, SeverityError, "two DAGs share a dag_id"},
	{dags.RuleInvalidDAGID, SeverityError, "a dag_id with characters other than letters, digits, '_', '.' and '-'"},
	{dags.RuleTimezone, SeverityError, "an unknown timezone"},
	{dags.RuleMissingArgument, SeverityError, "a required argument is missing"},
	{dags.RuleSetupTeardown, SeverityError, "setup and teardown tasks used in a way Airflow refuses"},
}

// Rules returns every rule the linter knows, warnings first.
func Rules() []Rule { return append([]Rule(nil), rules[:]...) }

// RuleByID returns the rule with the given id.
func RuleByID(id string) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

func warningIDs() []string {
	var ids []string
	for _, r := range rules {
		if r.Severity == SeverityWarning {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// checkDAG applies the DAG-level warning rules.
func (c *checker) checkDAG(d *dags.DAG) {
	c.checkSchedule(d)
	tasks := d.Tasks()
	// A DAG without any edge holds independent tasks on purpose (Airflow's
	// example_trigger_target_dag): only a task apart from the others of a
	// DAG that does connect tasks looks like a forgotten >>.
	hasEdges := false
	for _, t := range tasks {
		hasEdges = hasEdges || len(t.Downstream) > 0
	}
	for _, t := range tasks {
		if hasEdges && len(t.Upstream) == 0 && len(t.Downstream) == 0 {
			c.warn(t.Pos, RuleUnconnectedTask,
				"task %q in DAG %q has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG", t.ID, d.ID)
		}
		if part, ok := badIdentifier(t.ID); !ok {
			c.warn(t.Pos, RuleTaskIDNotIdentifier,
				"task id %q: %q is not an identifier; use letters, digits and '_' (not starting with a digit), such as %q, so templates and XCom pulls can name it plainly",
				t.ID, part, identifierLike(part))
		}
		if t.Retries > 0 && !t.RetryDelaySet {
			c.warn(t.Pos, RuleRetriesWithoutRetryDelay,
				"task %q has retries=%d but no retry_delay, so the default of %s applies between tries; set retry_delay on the task or in default_args",
				t.ID, t.Retries, dags.FormatDuration(dags.DefaultRetryDelay))
		}
	}
}

// checkSchedule applies the rules about a DAG's schedule and dates.
func (c *checker) checkSchedule(d *dags.DAG) {
	if !d.Schedule.Periodic() {
		return
	}
	if d.StartDate.IsZero() {
		c.warn(d.Pos, RuleScheduleWithoutStartDate,
			"DAG %q has schedule %q but no start_date: set start_date (such as %q) to say from when it runs",
			d.ID, d.Schedule.String(), c.now.UTC().Format(time.DateOnly))
		return
	}
	if !d.Catchup || c.now.Sub(d.StartDate) <= CatchupFarPast {
		return
	}
	days := int(c.now.Sub(d.StartDate) / (24 * time.Hour))
	n, capped := catchupRuns(d, c.now)
	count := fmt.Sprintf("%d runs", n)
	if n == 1 {
		count = "1 run"
	}
	if capped {
		count = fmt.Sprintf("more than %d runs", MaxCatchupCount)
	}
	c.warn(d.Pos, RuleCatchupFarPast,
		"DAG %q has catchup=True and start_date %s, %d days ago: the scheduler will create %s to catch up; set catchup=False or a later start_date",
		d.ID, d.StartDate.UTC().Format(time.DateOnly), days, count)
}

// badIdentifier splits a task id into its group prefixes and name on '.'
// and returns the first part that is not an identifier, and false; or "",
// true when every part is one.
func badIdentifier(id string) (string, bool) {
	for part := range strings.SplitSeq(id, ".") {
		if !isIdentifier(part) {
			return part, false
		}
	}
	return "", true
}

// isIdentifier reports whether s matches [A-Za-z_][A-Za-z0-9_]*.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// identifierLike suggests an identifier for s: every other character
// replaced by '_', and a leading digit or an empty name prefixed.
func identifierLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "task_" + out
	}
	return out
}
