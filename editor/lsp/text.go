package lsp

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	protocol "github.com/tliron/glsp/protocol_3_16"
)

// lineStart returns the byte offset of the 0-based line in text (len(text)
// past the end).
func lineStart(text string, line int) int {
	off := 0
	for i := 0; i < line; i++ {
		j := strings.IndexByte(text[off:], '\n')
		if j < 0 {
			return len(text)
		}
		off += j + 1
	}
	return off
}

// lineAt returns the 0-based line's text without its newline.
func lineAt(text string, line int) string {
	start := lineStart(text, line)
	if end := strings.IndexByte(text[start:], '\n'); end >= 0 {
		return text[start : start+end]
	}
	return text[start:]
}

// offset returns the byte offset of an LSP position (UTF-16 columns).
func offset(text string, p protocol.Position) int {
	start := lineStart(text, int(p.Line))
	line := lineAt(text, int(p.Line))
	units := 0
	for i, r := range line {
		if units >= int(p.Character) {
			return start + i
		}
		units += len(utf16.Encode([]rune{r}))
	}
	return start + len(line)
}

// position returns the LSP position of a byte offset.
func position(text string, off int) protocol.Position {
	off = min(max(off, 0), len(text))
	line := strings.Count(text[:off], "\n")
	start := strings.LastIndexByte(text[:off], '\n') + 1
	units := 0
	for _, r := range text[start:off] {
		units += len(utf16.Encode([]rune{r}))
	}
	return protocol.Position{Line: protocol.UInteger(line), Character: protocol.UInteger(units)}
}

// posOffset returns the byte offset of a loader position (1-based line,
// 1-based column in runes).
func posOffset(text string, line, col int) int {
	if line < 1 {
		return 0
	}
	start := lineStart(text, line-1)
	l := lineAt(text, line-1)
	n := 0
	for i := range l {
		if n == col-1 {
			return start + i
		}
		n++
	}
	return start + len(l)
}

func isIdent(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// wordAt returns the identifier around the byte offset and its bounds.
func wordAt(text string, off int) (string, int, int) {
	start, end := off, off
	for start > 0 {
		r, n := utf8.DecodeLastRuneInString(text[:start])
		if !isIdent(r) {
			break
		}
		start -= n
	}
	for end < len(text) {
		r, n := utf8.DecodeRuneInString(text[end:])
		if !isIdent(r) {
			break
		}
		end += n
	}
	return text[start:end], start, end
}

// rangeAt is the range of the word at a loader position, or one
// character there when no word starts at it.
func rangeAt(text string, line, col int) protocol.Range {
	off := posOffset(text, line, col)
	_, _, end := wordAt(text, off)
	if end <= off {
		end = min(off+1, len(text))
		if nl := strings.IndexByte(text[off:end], '\n'); nl >= 0 {
			end = off
		}
	}
	return protocol.Range{Start: position(text, off), End: position(text, end)}
}
