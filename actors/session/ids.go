package session

import "regexp"

var (
	userIDPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	convIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)
)

// ValidUserID reports whether id is a well-formed user (or device) id:
// 1–64 of letters, digits and ._@-
func ValidUserID(id string) bool { return userIDPattern.MatchString(id) }

// ValidConvID reports whether id is a well-formed conversation id: 1–128
// of letters, digits and ._:@-
func ValidConvID(id string) bool { return convIDPattern.MatchString(id) }
