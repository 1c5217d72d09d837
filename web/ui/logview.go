package ui

import (
	"regexp"
	"strings"
)

// logLine is one line of a task log as the log view shows it: its
// number (the anchor #L<n>), the time and level the writer put in front
// of it when there are any, and a level guessed from the text otherwise.
type logLine struct {
	N int
	// Time is the line's timestamp as written ("" when it has none).
	Time string
	// Level is DEBUG, INFO, WARNING, ERROR or CRITICAL; "" when neither
	// the line nor its text says.
	Level string
	// Stream is "stderr" for a child process's standard error.
	Stream string
	Text   string
}

// Class is the line's CSS class: its level and stream.
func (l logLine) Class() string {
	c := "ln"
	if l.Level != "" {
		c += " l-" + strings.ToLower(l.Level)
	}
	if l.Stream == "stderr" {
		c += " stderr"
	}
	return c
}

// IsError reports whether the line is an error: the line a failed task's
// "go to the error" link opens.
func (l logLine) IsError() bool { return l.Level == "ERROR" || l.Level == "CRITICAL" }

var (
	// logPrefix is the head of a line written as Airflow's log format
	// does ("[2024-01-01T00:00:00.000+0000] {file.py:12} INFO - text"), the
	// file part being optional; Starflow's worker writes "{stderr}" there
	// for a child's standard error.
	logPrefix = regexp.MustCompile(`^\[(\d{4}-\d\d-\d\d[T ][0-9:.,]+(?:Z|[+-]\d\d:?\d\d)?)\] (?:\{([^}]*)\} )?(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL) +- ?`)
	// errorText and warnText guess the level of a line without a prefix:
	// "error: …", Go's "panic:", Python's "Traceback" and "XyzError: …",
	// bash's "line 3: x: command not found".
	errorText = regexp.MustCompile(`^(?i:error|fatal|panic)\b|^Traceback \(most recent call last\)|^[A-Za-z_.]*(?:Error|Exception): |: command not found$|^(?:\S+: )?line \d+: `)
	warnText  = regexp.MustCompile(`^(?i:warn(?:ing)?)\b`)
)

// parseLogLine reads one line (without its newline), numbered n.
func parseLogLine(n int, s string) logLine {
	l := logLine{N: n, Text: s}
	if m := logPrefix.FindStringSubmatch(s); m != nil {
		l.Time, l.Level, l.Text = m[1], m[3], s[len(m[0]):]
		switch l.Level {
		case "WARN":
			l.Level = "WARNING"
		case "FATAL":
			l.Level = "CRITICAL"
		}
		if m[2] == "stderr" {
			l.Stream = "stderr"
		}
		return l
	}
	switch {
	case errorText.MatchString(s):
		l.Level = "ERROR"
	case warnText.MatchString(s):
		l.Level = "WARNING"
	}
	return l
}

// logView is a log split into lines for the page.
type logView struct {
	Lines []logLine
	// FirstError is the number of the first error line; 0 when none.
	FirstError int
}

// splitLog splits text into lines numbered from first; a last line
// without a newline counts too.
func splitLog(text string, first int) *logView {
	v := &logView{}
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return v
	}
	v.Lines = make([]logLine, 0, strings.Count(text, "\n")+1)
	for i, s := range strings.Split(text, "\n") {
		l := parseLogLine(first+i, strings.TrimSuffix(s, "\r"))
		if v.FirstError == 0 && l.IsError() {
			v.FirstError = l.N
		}
		v.Lines = append(v.Lines, l)
	}
	return v
}

// wholeLines returns the part of data up to and including its last
// newline: a poll shows whole lines only and reads the rest next time.
func wholeLines(data []byte) []byte {
	i := strings.LastIndexByte(string(data), '\n')
	return data[:i+1]
}
