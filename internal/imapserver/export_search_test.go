package imapserver

// ResetSearchCaches empties the process-wide search caches (benchmarks
// time a cold first search with it).
func ResetSearchCaches() { resetCaches() }

// SetSearchIndex turns the use of search signatures on or off (tests
// compare both) and returns the previous setting.
func SetSearchIndex(on bool) bool {
	return searchUseIndex.Swap(on)
}
