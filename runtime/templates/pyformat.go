package templates

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// pyFormat implements Python's printf-style string formatting, format %
// args: conversions s, r, a, d, i, u, f, F, e, E, g, G, x, X, o, c and
// %%, with flags (-, +, space, 0, #), width, precision, * and %(name)s
// keys into a dict. spread says args is a tuple literal whose items are
// the arguments; any other value (a list included) is one argument, as in
// Python.
func pyFormat(format string, args *exec.Value, spread bool) (string, error) {
	var items []*exec.Value
	var mapping *exec.Value
	switch {
	case spread:
		args.Iterate(func(_, _ int, v, _ *exec.Value) bool { items = append(items, v); return true }, func() {})
	case args.IsDict():
		mapping = args
		items = []*exec.Value{args}
	default:
		items = []*exec.Value{args}
	}
	next := 0
	arg := func() (*exec.Value, error) {
		if next >= len(items) {
			return nil, fmt.Errorf("TypeError: not enough arguments for format string")
		}
		next++
		return items[next-1], nil
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(format) {
			return "", fmt.Errorf("ValueError: incomplete format")
		}
		var val *exec.Value
		if format[i] == '(' {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				return "", fmt.Errorf("ValueError: incomplete format key")
			}
			key := format[i+1 : i+end]
			i += end + 1
			if mapping == nil {
				return "", fmt.Errorf("TypeError: format requires a mapping")
			}
			v, ok := mapping.GetItem(key)
			if !ok {
				return "", fmt.Errorf("KeyError: %s", pyRepr(exec.AsValue(key)))
			}
			val = v
		}
		var spec fmtSpec
		for ; i < len(format) && strings.IndexByte("-+ 0#", format[i]) >= 0; i++ {
			spec.flags += string(format[i])
		}
		n, j, star := readCount(format, i)
		if star {
			w, err := arg()
			if err != nil {
				return "", err
			}
			if !w.IsInteger() {
				return "", fmt.Errorf("TypeError: * wants int")
			}
			n = w.Integer()
			if n < 0 {
				spec.flags += "-"
				n = -n
			}
		}
		spec.width, i = n, j
		spec.prec = -1
		if i < len(format) && format[i] == '.' {
			n, j, star := readCount(format, i+1)
			if star {
				p, err := arg()
				if err != nil {
					return "", err
				}
				if !p.IsInteger() {
					return "", fmt.Errorf("TypeError: * wants int")
				}
				n = max(p.Integer(), 0)
			}
			spec.prec, i = n, j
		}
		for i < len(format) && strings.IndexByte("hlL", format[i]) >= 0 {
			i++ // length modifiers are accepted and ignored, as in Python
		}
		if i >= len(format) {
			return "", fmt.Errorf("ValueError: incomplete format")
		}
		spec.verb = format[i]
		if spec.verb == '%' {
			b.WriteByte('%')
			continue
		}
		if val == nil {
			v, err := arg()
			if err != nil {
				return "", err
			}
			val = v
		}
		s, err := spec.format(val)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	if mapping == nil && next < len(items) {
		return "", fmt.Errorf("TypeError: not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// readCount reads a decimal number or "*" at format[i:].
func readCount(format string, i int) (n, next int, star bool) {
	if i < len(format) && format[i] == '*' {
		return 0, i + 1, true
	}
	j := i
	for j < len(format) && format[j] >= '0' && format[j] <= '9' {
		j++
	}
	if j > i {
		n, _ = strconv.Atoi(format[i:j])
	}
	return n, j, false
}

// fmtSpec is one conversion of a format string.
type fmtSpec struct {
	flags string
	width int
	prec  int // -1 when not given
	verb  byte
}

func (s fmtSpec) has(flag byte) bool { return strings.IndexByte(s.flags, flag) >= 0 }

// format converts v and pads it to the width.
func (s fmtSpec) format(v *exec.Value) (string, error) {
	var out string
	numeric := false
	switch s.verb {
	case 's':
		out = pyStr(v)
		if s.prec >= 0 && s.prec < len([]rune(out)) {
			out = string([]rune(out)[:s.prec])
		}
	case 'r', 'a':
		out = pyRepr(v)
		if s.prec >= 0 && s.prec < len([]rune(out)) {
			out = string([]rune(out)[:s.prec])
		}
	case 'c':
		switch {
		case v.IsString() && len([]rune(v.String())) == 1:
			out = v.String()
		case isNumber(v) && v.IsInteger():
			out = string(rune(v.Integer()))
		default:
			return "", fmt.Errorf("TypeError: %%c requires int or char")
		}
	case 'd', 'i', 'u', 'x', 'X', 'o':
		n, err := s.integer(v)
		if err != nil {
			return "", err
		}
		numeric = true
		out = s.formatInt(n)
	case 'f', 'F', 'e', 'E', 'g', 'G':
		if !isNumber(v) {
			return "", fmt.Errorf("TypeError: must be real number, not %s", pyTypeName(v))
		}
		numeric = true
		out = s.formatFloat(v.Float())
	default:
		return "", fmt.Errorf("ValueError: unsupported format character '%c' (0x%x)", s.verb, s.verb)
	}
	if len([]rune(out)) >= s.width {
		return out, nil
	}
	pad := s.width - len([]rune(out))
	switch {
	case s.has('-'):
		return out + strings.Repeat(" ", pad), nil
	case s.has('0') && numeric:
		sign := ""
		if out != "" && strings.IndexByte("+- ", out[0]) >= 0 {
			sign, out = out[:1], out[1:]
		}
		if p := strings.ToLower(out); strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0o") {
			sign, out = sign+out[:2], out[2:]
		}
		return sign + strings.Repeat("0", pad) + out, nil
	}
	return strings.Repeat(" ", pad) + out, nil
}

// integer reads v for an integer conversion: ints as they are, floats
// truncated for %d, %i and %u (Python refuses them for %x and %o).
func (s fmtSpec) integer(v *exec.Value) (int, error) {
	if isNumber(v) && v.IsInteger() {
		return v.Integer(), nil
	}
	if v.IsBool() && !isNone(v) {
		if v.Bool() {
			return 1, nil
		}
		return 0, nil
	}
	if isNumber(v) && strings.IndexByte("diu", s.verb) >= 0 {
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("ValueError: cannot convert float %s to integer", pyStr(v))
		}
		return int(f), nil
	}
	if strings.IndexByte("diu", s.verb) >= 0 {
		return 0, fmt.Errorf("TypeError: %%%c format: a real number is required, not %s", s.verb, pyTypeName(v))
	}
	return 0, fmt.Errorf("TypeError: %%%c format: an integer is required, not %s", s.verb, pyTypeName(v))
}

func (s fmtSpec) sign(neg bool) string {
	switch {
	case neg:
		return "-"
	case s.has('+'):
		return "+"
	case s.has(' '):
		return " "
	}
	return ""
}

func (s fmtSpec) formatInt(n int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	var digits, prefix string
	switch s.verb {
	case 'x':
		digits, prefix = strconv.FormatUint(u, 16), "0x"
	case 'X':
		digits, prefix = strings.ToUpper(strconv.FormatUint(u, 16)), "0X"
	case 'o':
		digits, prefix = strconv.FormatUint(u, 8), "0o"
	default:
		digits = strconv.FormatUint(u, 10)
	}
	if s.prec > len(digits) {
		digits = strings.Repeat("0", s.prec-len(digits)) + digits
	}
	if !s.has('#') {
		prefix = ""
	}
	return s.sign(neg) + prefix + digits
}

func (s fmtSpec) formatFloat(f float64) string {
	prec := s.prec
	if prec < 0 {
		prec = 6
	}
	neg := math.Signbit(f) && !math.IsNaN(f)
	a := math.Abs(f)
	var out string
	switch {
	case math.IsInf(a, 0):
		out = "inf"
	case math.IsNaN(a):
		out = "nan"
	default:
		switch s.verb {
		case 'f', 'F':
			out = strconv.FormatFloat(a, 'f', prec, 64)
		case 'e', 'E':
			out = pyExponent(strconv.FormatFloat(a, 'e', prec, 64))
		case 'g', 'G':
			if prec == 0 {
				prec = 1
			}
			out = strconv.FormatFloat(a, 'g', prec, 64)
			if strings.ContainsAny(out, "e") {
				out = pyExponent(out)
			}
			if s.has('#') && !strings.Contains(out, ".") {
				out += "."
			}
		}
	}
	if s.verb == 'F' || s.verb == 'E' || s.verb == 'G' {
		out = strings.ToUpper(out)
	}
	return s.sign(neg) + out
}

// pyExponent writes Go's exponent ("e+07", "e-7") as Python does: a sign
// and at least two digits.
func pyExponent(s string) string {
	i := strings.IndexAny(s, "e")
	if i < 0 {
		return s
	}
	mant, exp := s[:i], s[i+1:]
	sign := "+"
	if exp[0] == '+' || exp[0] == '-' {
		sign, exp = exp[:1], exp[1:]
	}
	if len(exp) < 2 {
		exp = "0" + exp
	}
	return mant + "e" + sign + exp
}

// pyStr is Python's str() of a template value.
func pyStr(v *exec.Value) string {
	if isNone(v) {
		return "None"
	}
	if v.IsFloat() {
		return pyFloat(v.Float())
	}
	return v.String()
}

// pyFloat formats a float as Python's repr does: the shortest form that
// reads back, with ".0" on integral values.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if strings.ContainsAny(s, "e") {
		exp := s[strings.IndexByte(s, 'e')+1:]
		if n, _ := strconv.Atoi(exp); n >= -4 && n < 16 {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		} else {
			return pyExponent(s)
		}
	}
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyRepr is Python's repr() of a template value: strings quoted as
// Python quotes them, other values as they render.
func pyRepr(v *exec.Value) string {
	if v.IsString() && !isNone(v) {
		if _, ok := v.Interface().(fmt.Stringer); !ok {
			return pyQuote(v.String())
		}
	}
	switch x := v.Interface().(type) {
	case dateTime:
		return x.repr()
	case timeDelta:
		return x.repr()
	}
	return pyStr(v)
}

// pyQuote returns s quoted as Python's repr() quotes a str: in single
// quotes, or in double quotes when s holds a single quote and no double
// quote; backslashes, the quote, and non-printable characters escaped.
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
		case r == 0xfffd:
			b.WriteRune(r)
		case !strconv.IsPrint(r):
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
