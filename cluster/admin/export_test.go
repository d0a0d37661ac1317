package admin

// RecheckKeysAlways makes the keys file be read again on every request,
// until the returned function restores the interval.
func RecheckKeysAlways() (restore func()) {
	old := keyFileRecheck
	keyFileRecheck = 0
	return func() { keyFileRecheck = old }
}

// KindName is kindName, for the table test.
var KindName = kindName

// RoutePatterns lists the patterns the API serves, for the OpenAPI tests.
func RoutePatterns() []string {
	var out []string
	for _, rt := range (&Server{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}
