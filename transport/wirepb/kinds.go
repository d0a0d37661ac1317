package wirepb

// EmptyBodyAllowed reports whether a send of kind (naming refSeq, with a
// file or not) may have an empty body: a reaction or a vote taken back, a
// poll's close (it names only its poll), or a file without a caption. The
// one rule the node, the transport's early check and the Go SDK share.
func EmptyBodyAllowed(kind MessageKind, refSeq uint64, file bool) bool {
	return kind == MessageKind_REACTION || kind == MessageKind_VOTE || (kind == MessageKind_POLL && refSeq != 0) || file
}
