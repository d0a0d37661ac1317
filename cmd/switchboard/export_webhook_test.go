package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/push"
)

// A dev node started with --export-webhook-url posts a sent message's
// record, signed, to the business's endpoint: no Kafka needed.
func TestExportWebhook(t *testing.T) {
	secret := "export-webhook-secret-0123456789"
	got := make(chan export.WebhookRecord, 64)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !push.Verify([]byte(secret), r.Header.Get("X-Switchboard-Timestamp"), body, r.Header.Get("X-Switchboard-Signature")) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var b export.WebhookBatch
		_ = json.Unmarshal(body, &b)
		for _, rec := range b.Records {
			select {
			case got <- rec:
			default:
			}
		}
	}))
	defer hs.Close()
	n := newDevNode(t)
	file := filepath.Join(t.TempDir(), "export-secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n.extra = []string{"--export-webhook-url", hs.URL, "--export-webhook-secret-file", file}
	n.start()
	n.run("send", "--data-dir", n.dir, "--user", "alice", "--to", "user:bob", "--text", "hello over the webhook")
	deadline := time.After(20 * time.Second)
	for {
		select {
		case rec := <-got:
			var m struct{ Conv, From, Text string }
			_ = json.Unmarshal(rec.Value, &m)
			if rec.Topic == export.TopicMessages && rec.Key == "d:alice:bob" && m.From == "alice" && m.Text == "hello over the webhook" {
				return
			}
		case <-deadline:
			t.Fatal("no message record reached the webhook")
		}
	}
}
