package main

import "testing"

func TestAnswer(t *testing.T) {
	for _, c := range []struct {
		text     string
		reply    string
		handover bool
	}{
		{"Is it still for sale?", "It is! Shall I get you a salesperson?", false},
		{"Can I talk to a HUMAN please", "Sure, I'm getting you a colleague.", true},
		{"How much is it?", DefaultRules[1].Reply, false},
		{"hello", Fallback, false},
	} {
		reply, handover := Answer(DefaultRules, c.text)
		if reply != c.reply || handover != c.handover {
			t.Errorf("%q: %q %v, want %q %v", c.text, reply, handover, c.reply, c.handover)
		}
	}
}
