package lint

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteText prints one finding per line as
// "file:line:col: severity: message [rule]", the form editors and
// terminals link to the source. A message of several lines (a loader's
// backtrace) goes on with lines indented by a tab, so every line that
// starts without one begins a finding.
func WriteText(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	for _, f := range fs {
		bw.WriteString(textIndenter.Replace(f.String()))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write lint findings: %w", err)
	}
	return nil
}

// jsonFinding is the stable JSON shape of a finding, documented in
// docs/lint.md. Fields are only ever added.
type jsonFinding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
}

// WriteJSON prints the findings as a JSON array of objects with the keys
// file, line, col, severity, rule and message, in that order; no findings
// print "[]". Line and col are 0 when unknown.
func WriteJSON(w io.Writer, fs []Finding) error {
	out := make([]jsonFinding, len(fs))
	for i, f := range fs {
		out[i] = jsonFinding{File: f.Pos.File, Line: f.Pos.Line, Col: f.Pos.Col, Severity: f.Severity, Rule: f.Rule, Message: f.Message}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages quote ">>"
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write lint findings as JSON: %w", err)
	}
	return nil
}

// WriteGitHub prints the findings as GitHub Actions workflow commands,
// which GitHub shows as annotations on the pull request:
//
//	::error file=dags/etl.star,line=12,col=5,title=cycle::DAG "etl" has a cycle: a >> b >> a
//
// Warnings use ::warning. Line and col are left out when unknown. Values
// are escaped as GitHub's toolkit does: '%', '\r' and '\n' everywhere, and
// also ':' and ',' in properties.
func WriteGitHub(w io.Writer, fs []Finding) error {
	bw := bufio.NewWriter(w)
	for _, f := range fs {
		level := "warning"
		if f.Severity == SeverityError {
			level = "error"
		}
		bw.WriteString("::" + level + " file=" + escapeProperty(f.Pos.File))
		if f.Pos.Line > 0 {
			bw.WriteString(",line=" + strconv.Itoa(f.Pos.Line))
			if f.Pos.Col > 0 {
				bw.WriteString(",col=" + strconv.Itoa(f.Pos.Col))
			}
		}
		bw.WriteString(",title=" + escapeProperty(f.Rule))
		bw.WriteString("::" + escapeData(f.Message) + "\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write lint findings as GitHub annotations: %w", err)
	}
	return nil
}

var (
	textIndenter    = strings.NewReplacer("\r\n", "\n\t", "\n", "\n\t", "\r", "\n\t")
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes the message of a workflow command.
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a property value of a workflow command.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
