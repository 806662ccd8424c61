// Package report aggregates the events of a scan into what a person reads:
// per signature a count, first and last seen, occurrences over the window,
// a sample line and field ranges, plus the most frequent unclassified
// templates. Memory stays bounded however many events stream through.
package report
