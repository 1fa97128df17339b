package economy

// QueueLen is how many posts wait for the committer: tests wait for it to
// know what the next batch will hold.
func QueueLen(l *Ledger) int { return len(l.queue) }
