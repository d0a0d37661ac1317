package actors

import "testing"

// The preview keeps whole UTF-8 characters within PreviewBytes.
func TestPreviewText(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int
		want string
	}{
		{"hello", 5, "hello"},  // at the limit
		{"hello!", 5, "hello"}, // one over
		{"héllo", 2, "h"},      // é is 2 bytes: not cut in half
		{"héllo", 3, "hé"},
		{"secret", -1, ""}, // previews off
		{"", 10, ""},
		{"\xff\xfe", 10, ""}, // not text
	} {
		if got := previewText([]byte(tc.body), tc.n); got != tc.want {
			t.Errorf("previewText(%q, %d) = %q, want %q", tc.body, tc.n, got, tc.want)
		}
	}
}
