package tail

// atoi parses a non-negative decimal number; anything else gives 0.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 18 {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
