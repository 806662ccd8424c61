//go:build !unix

package main

import "io"

// termWidth returns 0: the width is unknown on this system.
func termWidth(io.Writer) int { return 0 }
