package wirepb

// EmptyBodyAllowed reports whether a send of kind (naming refSeq, carrying
// a file or a forwarded message or not) may have an empty body: a reaction
// or a vote taken back, a poll's close (it names only its poll), a file
// without a caption, or a forward (it carries its message's). The one rule
// the node, the transport's early check and the Go SDK share.
func EmptyBodyAllowed(kind MessageKind, refSeq uint64, carried bool) bool {
	return kind == MessageKind_REACTION || kind == MessageKind_VOTE || (kind == MessageKind_POLL && refSeq != 0) || carried
}
