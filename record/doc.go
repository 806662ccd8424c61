// Package record holds the values that travel through cflogd: the journal
// Entry a reader produces, the classified Event a sink sends, and the
// Severity and Level that both speak of. It imports nothing of the project,
// so every other package can share these types without depending on the
// journal reader, the classifier or the pattern loader.
package record
