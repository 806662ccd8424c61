// Package cflogd holds what is compiled into the cflogd binary from the root
// of the source tree: the built-in signature library, patterns.d/*.yaml. It
// lives here because go:embed cannot reach a parent directory; package
// patterns loads it (patterns.LoadBuiltin).
package cflogd

import "embed"

// Patterns holds patterns.d/*.yaml, the built-in signature library.
//
//go:embed patterns.d/*.yaml
var Patterns embed.FS
