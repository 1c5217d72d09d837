package lsp

import (
	"regexp"
	"strings"
)

// cursor describes where in the code a position is, from a forward scan
// of the text before it (tolerant of unfinished code).
type cursor struct {
	inString bool
	// call is the name of the innermost function call the position is in
	// the arguments of ("" when none); callDot is true for x.name(.
	call    string
	callDot bool
	// argIndex counts the arguments before the current one; keyword is
	// the name of the current argument when it is given as name = value,
	// and inValue is true after its "=".
	argIndex int
	keyword  string
	inValue  bool
	// inList is true when the innermost bracket is a list inside the call.
	inList bool
	// shift is true when the current statement has a >> or << before the
	// position.
	shift bool
}

type bracket struct {
	ch       byte
	at       int // offset of the bracket
	commas   int
	argStart int
}

var kwRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=([^=]|$)`)

// scan returns the cursor at byte offset off of text.
func scan(text string, off int) cursor {
	src := text[:off]
	var stack []bracket
	var quote string // the open string's delimiter, "" outside strings
	stmtStart := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if quote != "" {
			switch {
			case c == '\\':
				i++
			case strings.HasPrefix(src[i:], quote):
				i += len(quote) - 1
				quote = ""
			case c == '\n' && len(quote) == 1:
				quote = ""
			}
			continue
		}
		switch c {
		case '#':
			if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
				i += j - 1
			} else {
				i = len(src)
			}
		case '"', '\'':
			quote = string(c)
			if strings.HasPrefix(src[i:], strings.Repeat(string(c), 3)) {
				quote = strings.Repeat(string(c), 3)
				i += 2
			}
		case '(', '[', '{':
			stack = append(stack, bracket{ch: c, at: i, argStart: i + 1})
		case ')', ']', '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) > 0 {
				stack[len(stack)-1].commas++
				stack[len(stack)-1].argStart = i + 1
			}
		case '\n':
			if len(stack) == 0 {
				stmtStart = i + 1
			}
		}
	}
	cur := cursor{inString: quote != ""}
	stmt := src[stmtStart:]
	cur.shift = strings.Contains(stmt, ">>") || strings.Contains(stmt, "<<")
	for k := len(stack) - 1; k >= 0; k-- {
		b := stack[k]
		if b.ch != '(' {
			if k == len(stack)-1 {
				cur.inList = b.ch == '['
			}
			continue
		}
		name, _, _ := wordAt(src, b.at)
		if name == "" {
			continue
		}
		cur.call = name
		if st := b.at - len(name) - 1; st >= 0 && src[st] == '.' {
			cur.callDot = true
		}
		cur.argIndex = b.commas
		arg := src[b.argStart:]
		if k < len(stack)-1 {
			arg = src[b.argStart:stack[k+1].at]
		}
		if m := kwRE.FindStringSubmatch(arg); m != nil {
			cur.keyword, cur.inValue = m[1], true
		}
		break
	}
	return cur
}
