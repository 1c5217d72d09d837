// Package lsp is Starflow's language server for .star DAG files: the
// Language Server Protocol over a byte stream (stdio for `starflow lsp`),
// with diagnostics from the same loader and lint as `starflow lint`,
// completion, hover, signature help, go-to-definition and document symbols.
//
// The protocol's types come from github.com/tliron/glsp/protocol_3_16; the
// JSON-RPC framing is the small conn in this package. A Server holds no
// global state: every open document, debounce timer and in-flight request
// belongs to the Server value, and every request runs with a context that
// $/cancelRequest and the end of the stream cancel.
package lsp
