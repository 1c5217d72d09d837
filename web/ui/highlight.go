package ui

import (
	"html/template"
	"strings"
)

// Token classes of the Starlark highlighter; app.css colours them.
const (
	hlKeyword = "kw"
	hlString  = "str"
	hlComment = "com"
	hlNumber  = "num"
	hlBuiltin = "bi"
	hlFunc    = "fn"
)

var starlarkKeywords = setOf("and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda",
	"load", "not", "or", "pass", "return", "while", "None", "True", "False")

// starlarkBuiltins are Starlark's universe and Starflow's authoring API.
var starlarkBuiltins = setOf("abs", "all", "any", "bool", "dict", "dir", "enumerate", "fail", "float", "getattr",
	"hasattr", "hash", "int", "len", "list", "max", "min", "print", "range", "repr", "reversed", "sorted", "str",
	"tuple", "type", "zip", "struct", "dag", "bash", "task", "branch", "short_circuit", "empty", "group", "chain",
	"cross_downstream", "timedelta", "http", "sql", "trigger_dag")

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// highlightStarlark splits src into lines of HTML with spans around
// keywords, builtins, function names, strings, numbers and comments. It
// never fails: text it does not recognise is passed through, escaped.
func highlightStarlark(src string) []template.HTML {
	var lines []template.HTML
	var line strings.Builder
	emit := func(class, text string) {
		for {
			i := strings.IndexByte(text, '\n')
			part := text
			if i >= 0 {
				part = text[:i]
			}
			if part != "" {
				if class == "" {
					line.WriteString(template.HTMLEscapeString(part))
				} else {
					line.WriteString(`<span class="` + class + `">` + template.HTMLEscapeString(part) + `</span>`)
				}
			}
			if i < 0 {
				return
			}
			lines = append(lines, template.HTML(line.String()))
			line.Reset()
			text = text[i+1:]
		}
	}
	afterDef := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			emit(hlComment, src[i:i+j])
			i += j
		case c == '"' || c == '\'':
			j := stringEnd(src, i)
			emit(hlString, src[i:j])
			i = j
		case isDigit(c):
			j := i
			for j < len(src) && (isIdent(src[j]) || src[j] == '.') {
				j++
			}
			emit(hlNumber, src[i:j])
			i = j
		case isIdent(c):
			j := i
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			word := src[i:j]
			// String prefixes: r"…", b"…", rb"…".
			if j < len(src) && (src[j] == '"' || src[j] == '\'') && (word == "r" || word == "b" || word == "rb" || word == "br") {
				k := stringEnd(src, j)
				emit(hlString, src[i:k])
				i = k
				continue
			}
			class := ""
			switch {
			case afterDef:
				class = hlFunc
			case starlarkKeywords[word]:
				class = hlKeyword
			case starlarkBuiltins[word] && !strings.HasPrefix(src[j:], " =") && (i == 0 || src[i-1] != '.'):
				class = hlBuiltin
			}
			afterDef = word == "def"
			emit(class, word)
			i = j
		default:
			j := i + 1
			for j < len(src) && !isIdent(src[j]) && !isDigit(src[j]) && src[j] != '#' && src[j] != '"' && src[j] != '\'' {
				j++
			}
			if strings.TrimSpace(src[i:j]) != "" {
				afterDef = false
			}
			emit("", src[i:j])
			i = j
		}
	}
	if line.Len() > 0 || len(lines) == 0 {
		lines = append(lines, template.HTML(line.String()))
	}
	return lines
}

// stringEnd returns the index just past the string literal starting with
// the quote at src[i]: single- or triple-quoted, with backslash escapes. An
// unterminated single-quoted string ends at the end of its line.
func stringEnd(src string, i int) int {
	q := src[i]
	if strings.HasPrefix(src[i:], string([]byte{q, q, q})) {
		end := strings.Index(src[i+3:], string([]byte{q, q, q}))
		for end >= 0 && escaped(src, i+3+end) {
			next := strings.Index(src[i+3+end+1:], string([]byte{q, q, q}))
			if next < 0 {
				end = -1
				break
			}
			end += 1 + next
		}
		if end < 0 {
			return len(src)
		}
		return i + 3 + end + 3
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n':
			return j
		}
	}
	return len(src)
}

// escaped reports whether src[i] is preceded by an odd number of
// backslashes.
func escaped(src string, i int) bool {
	n := 0
	for i > 0 && src[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
