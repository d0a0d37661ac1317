package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
)

// jsLike decodes b the way JavaScript's JSON.parse does (every number a
// float64) and fails on a number too large to be held exactly, which a
// JavaScript client would silently round.
func jsLike(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case float64:
			if x > 1<<53 || x < -(1<<53) {
				t.Fatalf("%s is the number %.0f, beyond 2^53: a JavaScript client loses digits in %s", path, x, b)
			}
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("$", v)
	return v
}

// TestJSONMsgIDsRoundTrip: message ids, above 2^53 by construction (time
// in the high bits), are JSON strings in every --json output, and the id a
// send prints is the one history prints.
func TestJSONMsgIDsRoundTrip(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	sent := jsLike(t, n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "hi", "--json")).(map[string]any)
	idStr, ok := sent["msg_id"].(string)
	if !ok {
		t.Fatalf("send: msg_id is %T, want a string", sent["msg_id"])
	}
	id, err := strconv.ParseUint(idStr, 10, 64)
	if err != nil || id <= 1<<53 {
		t.Fatalf("send: msg_id %q (%v): want a decimal above 2^53 for this test to mean something", idStr, err)
	}
	hist := jsLike(t, n.run("history", "--data-dir", d, "--user", "bob", "--conv", "d:alice:bob", "--json")).([]any)
	if len(hist) != 1 || hist[0].(map[string]any)["msg_id"] != idStr {
		t.Fatalf("history %v: want msg_id %q", hist, idStr)
	}
	convs := jsLike(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json")).([]any)
	if len(convs) != 1 {
		t.Fatalf("convs %v", convs)
	}
	if last, _ := convs[0].(map[string]any)["last_message"].(map[string]any); last != nil && last["msg_id"] != idStr {
		t.Fatalf("convs last message %v: want msg_id %q", last, idStr)
	}
	jsLike(t, n.run("sync", "--data-dir", d, "--user", "bob", "--device", "phone", "--json"))
}
