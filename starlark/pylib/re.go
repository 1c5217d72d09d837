package pylib

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Python's re flag values.
const (
	flagIgnoreCase = 2
	flagMultiline  = 8
	flagDotAll     = 16
	flagASCII      = 256
)

// reModule returns the re module: compile, match, search, fullmatch,
// findall, finditer, sub, subn, split and escape, and the flags I, M, S
// (and their long names). Patterns use Go's RE2 syntax, which is Python's
// for everything but lookarounds and backreferences.
func reModule() *starlarkstruct.Module {
	m := starlark.StringDict{
		"I": starlark.MakeInt(flagIgnoreCase), "IGNORECASE": starlark.MakeInt(flagIgnoreCase),
		"M": starlark.MakeInt(flagMultiline), "MULTILINE": starlark.MakeInt(flagMultiline),
		"S": starlark.MakeInt(flagDotAll), "DOTALL": starlark.MakeInt(flagDotAll),
		"A": starlark.MakeInt(flagASCII), "ASCII": starlark.MakeInt(flagASCII),
		"compile": safe("re.compile", reCompile),
		"escape":  safe("re.escape", reEscape),
	}
	for _, name := range patternMethods {
		name := name
		m[name] = safe("re."+name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			// re.f(pattern, rest..., flags=0): compile, then call the
			// pattern's method with the rest.
			if len(args) == 0 {
				return nil, fmt.Errorf("%s: missing argument for pattern", fn.Name())
			}
			flags := 0
			var rest []starlark.Tuple
			for _, kv := range kwargs {
				if kv[0] == starlark.String("flags") {
					if err := starlark.AsInt(kv[1], &flags); err != nil {
						return nil, fmt.Errorf("%s: flags must be an int", fn.Name())
					}
					continue
				}
				if kv[0] == starlark.String("pattern") {
					return nil, fmt.Errorf("%s: pass the pattern as the first argument", fn.Name())
				}
				rest = append(rest, kv)
			}
			// Python's module functions take flags after the method's
			// own positional parameters: match(pattern, string, flags).
			own := args[1:]
			if n := positionalParams[name]; len(own) == n+1 {
				if err := starlark.AsInt(own[n], &flags); err != nil {
					return nil, fmt.Errorf("%s: flags must be an int", fn.Name())
				}
				own = own[:n]
			}
			p, err := compilePattern(fn.Name(), args[0], flags)
			if err != nil {
				return nil, err
			}
			return p.call(thread, name, "re."+name, own, rest)
		})
	}
	return &starlarkstruct.Module{Name: "re", Members: m}
}

// patternMethods are the functions of both the module and a compiled
// pattern.
var patternMethods = []string{"match", "search", "fullmatch", "findall", "finditer", "sub", "subn", "split"}

// positionalParams counts the parameters of each method before flags.
var positionalParams = map[string]int{
	"match": 1, "search": 1, "fullmatch": 1, "findall": 1, "finditer": 1, "split": 2, "sub": 3, "subn": 3,
}

// pattern is a compiled regular expression (Python's re.Pattern).
type pattern struct {
	src   string
	flags int
	re    *regexp.Regexp
}

var _ starlark.HasAttrs = (*pattern)(nil)

func (p *pattern) String() string        { return "re.compile(" + pyQuote(p.src) + ")" }
func (p *pattern) Type() string          { return "re.Pattern" }
func (p *pattern) Freeze()               {}
func (p *pattern) Truth() starlark.Bool  { return true }
func (p *pattern) Hash() (uint32, error) { return starlark.String(p.src).Hash() }

// AttrNames lists the methods and attributes.
func (p *pattern) AttrNames() []string {
	names := append([]string{"flags", "groups", "pattern"}, patternMethods...)
	sort.Strings(names)
	return names
}

// Attr returns a method or attribute.
func (p *pattern) Attr(name string) (starlark.Value, error) {
	switch name {
	case "pattern":
		return starlark.String(p.src), nil
	case "flags":
		return starlark.MakeInt(p.flags), nil
	case "groups":
		return starlark.MakeInt(p.re.NumSubexp()), nil
	}
	for _, m := range patternMethods {
		if m == name {
			return safe("Pattern."+name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				return p.call(thread, name, fn.Name(), args, kwargs)
			}), nil
		}
	}
	return nil, nil
}

// compilePattern compiles a pattern string (or returns a compiled one)
// with Python's flags, explaining what RE2 does not support.
func compilePattern(fn string, v starlark.Value, flags int) (*pattern, error) {
	if p, ok := v.(*pattern); ok {
		if flags != 0 {
			return nil, fmt.Errorf("%s: cannot process flags argument with a compiled pattern", fn)
		}
		return p, nil
	}
	s, ok := v.(starlark.String)
	if !ok {
		return nil, fmt.Errorf("%s: first argument must be a string or compiled pattern, not %s", fn, v.Type())
	}
	prefix := ""
	if flags&flagIgnoreCase != 0 {
		prefix += "i"
	}
	if flags&flagMultiline != 0 {
		prefix += "m"
	}
	if flags&flagDotAll != 0 {
		prefix += "s"
	}
	if rest := flags &^ (flagIgnoreCase | flagMultiline | flagDotAll | flagASCII); rest != 0 {
		return nil, fmt.Errorf("%s: unsupported flags %d (supported: re.I, re.M, re.S, re.A)", fn, rest)
	}
	src := string(s)
	full := src
	if prefix != "" {
		full = "(?" + prefix + ")" + src
	}
	re, err := regexp.Compile(full)
	if err != nil {
		var se *syntax.Error
		if e, ok := err.(*syntax.Error); ok {
			se = e
		}
		if se != nil && (se.Code == syntax.ErrInvalidPerlOp || se.Code == syntax.ErrInvalidEscape) {
			return nil, fmt.Errorf("%s: invalid pattern %s: %v (Starlark's re uses RE2 syntax: no lookaheads, lookbehinds or backreferences)", fn, pyQuote(src), err)
		}
		return nil, fmt.Errorf("%s: invalid pattern %s: %v", fn, pyQuote(src), err)
	}
	return &pattern{src: src, flags: flags, re: re}, nil
}

// reCompile implements re.compile(pattern, flags=0).
func reCompile(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		p     starlark.Value
		flags int
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "pattern", &p, "flags?", &flags); err != nil {
		return nil, err
	}
	return compilePattern(fn.Name(), p, flags)
}

// reEscape implements re.escape(pattern): Python's special characters
// escaped with a backslash.
func reEscape(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "pattern", &s); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("()[]{}?*+-|^$\\.&~# \t\n\r\v\f", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return starlark.String(b.String()), nil
}

// call runs one of the pattern methods with its arguments after the
// pattern.
func (p *pattern) call(thread *starlark.Thread, method, fn string, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	switch method {
	case "match", "search", "fullmatch":
		var s string
		if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
			return nil, err
		}
		return p.find(method, s), nil
	case "findall":
		var s string
		if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
			return nil, err
		}
		var out []starlark.Value
		for _, loc := range p.re.FindAllStringSubmatchIndex(s, -1) {
			m := &match{p: p, s: s, loc: loc}
			switch n := p.re.NumSubexp(); n {
			case 0:
				out = append(out, m.groupValue(0, starlark.String("")))
			case 1:
				out = append(out, m.groupValue(1, starlark.String("")))
			default:
				t := make(starlark.Tuple, n)
				for i := range t {
					t[i] = m.groupValue(i+1, starlark.String(""))
				}
				out = append(out, t)
			}
		}
		return starlark.NewList(out), nil
	case "finditer":
		var s string
		if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
			return nil, err
		}
		var out []starlark.Value
		for _, loc := range p.re.FindAllStringSubmatchIndex(s, -1) {
			out = append(out, &match{p: p, s: s, loc: loc})
		}
		return starlark.NewList(out), nil
	case "sub", "subn":
		var (
			repl  starlark.Value
			s     string
			count int
		)
		if err := starlark.UnpackArgs(fn, args, kwargs, "repl", &repl, "string", &s, "count?", &count); err != nil {
			return nil, err
		}
		out, n, err := p.sub(thread, fn, repl, s, count)
		if err != nil {
			return nil, err
		}
		if method == "subn" {
			return starlark.Tuple{starlark.String(out), starlark.MakeInt(n)}, nil
		}
		return starlark.String(out), nil
	case "split":
		var (
			s        string
			maxsplit int
		)
		if err := starlark.UnpackArgs(fn, args, kwargs, "string", &s, "maxsplit?", &maxsplit); err != nil {
			return nil, err
		}
		return p.split(s, maxsplit), nil
	}
	return nil, fmt.Errorf("%s: unknown method", fn)
}

// find implements match (anchored at the start), search and fullmatch
// (anchored at both ends): a match object or None.
func (p *pattern) find(method, s string) starlark.Value {
	re := p.re
	switch method {
	case "match":
		re = regexp.MustCompile(`\A(?:` + p.re.String() + `)`)
	case "fullmatch":
		re = regexp.MustCompile(`\A(?:` + p.re.String() + `)\z`)
	}
	loc := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return starlark.None
	}
	return &match{p: p, s: s, loc: loc}
}

// sub replaces up to count (0: all) matches of p in s with repl, a
// template string (\1, \g<name>, \g<1>, \n, \\) or a function of the
// match object returning a string.
func (p *pattern) sub(thread *starlark.Thread, fn string, repl starlark.Value, s string, count int) (string, int, error) {
	var expand func(m *match) (string, error)
	switch r := repl.(type) {
	case starlark.String:
		tmpl, err := parseRepl(string(r), p)
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", fn, err)
		}
		expand = func(m *match) (string, error) { return tmpl.expand(m), nil }
	case starlark.Callable:
		expand = func(m *match) (string, error) {
			v, err := starlark.Call(thread, r, starlark.Tuple{m}, nil)
			if err != nil {
				return "", err
			}
			str, ok := v.(starlark.String)
			if !ok {
				return "", fmt.Errorf("%s: the replacement function returned %s, want a string", fn, v.Type())
			}
			return string(str), nil
		}
	default:
		return "", 0, fmt.Errorf("%s: repl must be a string or a function, not %s", fn, repl.Type())
	}
	var b strings.Builder
	last, n := 0, 0
	for _, loc := range p.re.FindAllStringSubmatchIndex(s, -1) {
		if count > 0 && n >= count {
			break
		}
		r, err := expand(&match{p: p, s: s, loc: loc})
		if err != nil {
			return "", 0, err
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(r)
		last = loc[1]
		n++
	}
	b.WriteString(s[last:])
	return b.String(), n, nil
}

// split implements Pattern.split: the pieces between matches, with the
// groups of each match in between (None for a group that did not take
// part), at most maxsplit splits when maxsplit > 0.
func (p *pattern) split(s string, maxsplit int) starlark.Value {
	var out []starlark.Value
	last := 0
	for i, loc := range p.re.FindAllStringSubmatchIndex(s, -1) {
		if maxsplit > 0 && i >= maxsplit {
			break
		}
		out = append(out, starlark.String(s[last:loc[0]]))
		m := &match{p: p, s: s, loc: loc}
		for g := 1; g <= p.re.NumSubexp(); g++ {
			out = append(out, m.groupValue(g, starlark.None))
		}
		last = loc[1]
	}
	out = append(out, starlark.String(s[last:]))
	return starlark.NewList(out)
}

// replPart is a literal or a group reference of a replacement template.
type replPart struct {
	lit   string
	group int // -1 for a literal
}

type replTemplate []replPart

// parseRepl reads Python's replacement syntax.
func parseRepl(r string, p *pattern) (replTemplate, error) {
	var out replTemplate
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, replPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c != '\\' || i+1 >= len(r) {
			lit.WriteByte(c)
			continue
		}
		i++
		switch d := r[i]; {
		case d >= '0' && d <= '9':
			j := i + 1
			if j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			g, _ := strconv.Atoi(r[i:j])
			if g > p.re.NumSubexp() {
				return nil, fmt.Errorf("invalid group reference %d", g)
			}
			flush()
			out = append(out, replPart{group: g})
			i = j - 1
		case d == 'g':
			end := strings.IndexByte(r[i:], '>')
			if i+1 >= len(r) || r[i+1] != '<' || end < 0 {
				return nil, fmt.Errorf(`bad replacement: want \g<name>`)
			}
			name := r[i+2 : i+end]
			g, err := strconv.Atoi(name)
			if err != nil {
				g = p.re.SubexpIndex(name)
				if g < 0 {
					return nil, fmt.Errorf("unknown group name %s", pyQuote(name))
				}
			} else if g > p.re.NumSubexp() {
				return nil, fmt.Errorf("invalid group reference %d", g)
			}
			flush()
			out = append(out, replPart{group: g})
			i += end
		case d == 'n':
			lit.WriteByte('\n')
		case d == 't':
			lit.WriteByte('\t')
		case d == 'r':
			lit.WriteByte('\r')
		case d == '\\':
			lit.WriteByte('\\')
		default:
			lit.WriteByte('\\')
			lit.WriteByte(d)
		}
	}
	flush()
	return out, nil
}

func (t replTemplate) expand(m *match) string {
	var b strings.Builder
	for _, p := range t {
		if p.group < 0 {
			b.WriteString(p.lit)
			continue
		}
		if s, ok := m.group(p.group); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// match is a successful match (Python's re.Match).
type match struct {
	p   *pattern
	s   string
	loc []int
}

var _ starlark.HasAttrs = (*match)(nil)

func (m *match) String() string {
	return fmt.Sprintf("<re.Match object; span=(%d, %d), match=%s>", m.loc[0], m.loc[1], pyQuote(m.s[m.loc[0]:m.loc[1]]))
}
func (m *match) Type() string          { return "re.Match" }
func (m *match) Freeze()               {}
func (m *match) Truth() starlark.Bool  { return true }
func (m *match) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: re.Match") }

// group returns group g's text, and false when it did not take part.
func (m *match) group(g int) (string, bool) {
	a, b := m.loc[2*g], m.loc[2*g+1]
	if a < 0 {
		return "", false
	}
	return m.s[a:b], true
}

func (m *match) groupValue(g int, missing starlark.Value) starlark.Value {
	if s, ok := m.group(g); ok {
		return starlark.String(s)
	}
	return missing
}

// groupIndex reads a group argument: an int or a group name.
func (m *match) groupIndex(fn string, v starlark.Value) (int, error) {
	switch v := v.(type) {
	case starlark.Int:
		g, ok := v.Int64()
		if !ok || g < 0 || int(g) > m.p.re.NumSubexp() {
			return 0, fmt.Errorf("%s: IndexError: no such group %s", fn, v)
		}
		return int(g), nil
	case starlark.String:
		g := m.p.re.SubexpIndex(string(v))
		if g < 0 {
			return 0, fmt.Errorf("%s: IndexError: no such group %s", fn, pyQuote(string(v)))
		}
		return g, nil
	}
	return 0, fmt.Errorf("%s: IndexError: no such group %s", fn, v.String())
}

// AttrNames lists the methods and attributes.
func (m *match) AttrNames() []string {
	return []string{"end", "group", "groupdict", "groups", "lastindex", "pos", "re", "span", "start", "string"}
}

// Attr returns a method or attribute.
func (m *match) Attr(name string) (starlark.Value, error) {
	switch name {
	case "string":
		return starlark.String(m.s), nil
	case "re":
		return m.p, nil
	case "pos":
		return starlark.MakeInt(0), nil
	case "lastindex":
		last := -1
		for g := 1; g <= m.p.re.NumSubexp(); g++ {
			if m.loc[2*g] >= 0 {
				last = g
			}
		}
		if last < 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt(last), nil
	case "group":
		return safe("Match.group", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if len(kwargs) > 0 {
				return nil, fmt.Errorf("%s: takes no keyword arguments", fn.Name())
			}
			if len(args) == 0 {
				return m.groupValue(0, starlark.None), nil
			}
			out := make(starlark.Tuple, len(args))
			for i, a := range args {
				g, err := m.groupIndex(fn.Name(), a)
				if err != nil {
					return nil, err
				}
				out[i] = m.groupValue(g, starlark.None)
			}
			if len(out) == 1 {
				return out[0], nil
			}
			return out, nil
		}), nil
	case "groups":
		return safe("Match.groups", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var dflt starlark.Value = starlark.None
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "default?", &dflt); err != nil {
				return nil, err
			}
			out := make(starlark.Tuple, m.p.re.NumSubexp())
			for i := range out {
				out[i] = m.groupValue(i+1, dflt)
			}
			return out, nil
		}), nil
	case "groupdict":
		return safe("Match.groupdict", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var dflt starlark.Value = starlark.None
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "default?", &dflt); err != nil {
				return nil, err
			}
			d := starlark.NewDict(0)
			for g, name := range m.p.re.SubexpNames() {
				if name != "" {
					if err := d.SetKey(starlark.String(name), m.groupValue(g, dflt)); err != nil {
						return nil, err
					}
				}
			}
			return d, nil
		}), nil
	case "start", "end", "span":
		return safe("Match."+name, func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var gv starlark.Value = starlark.MakeInt(0)
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "group?", &gv); err != nil {
				return nil, err
			}
			g, err := m.groupIndex(fn.Name(), gv)
			if err != nil {
				return nil, err
			}
			a, b := starlark.MakeInt(m.loc[2*g]), starlark.MakeInt(m.loc[2*g+1])
			switch name {
			case "start":
				return a, nil
			case "end":
				return b, nil
			}
			return starlark.Tuple{a, b}, nil
		}), nil
	}
	return nil, nil
}

// pyQuote quotes s as Python's repr() quotes a str.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !strconv.IsPrint(r) && r != 0xfffd:
			switch {
			case r < 0x100:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
