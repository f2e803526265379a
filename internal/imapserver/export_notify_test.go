package imapserver

// SetNotifyOverflowLimit sets how many feed events or notifications a
// NOTIFY session may accumulate before [NOTIFICATIONOVERFLOW] and returns
// the previous limit. Tests only; not safe while sessions run.
func SetNotifyOverflowLimit(n int) int {
	old := notifyOverflowLimit
	notifyOverflowLimit = n
	return old
}
