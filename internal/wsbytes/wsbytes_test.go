package wsbytes_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/internal/wsbytes"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Binary messages, an empty one among them, read as one byte stream
// across their boundaries; a text message is a bad frame.
func TestMessagesAreOneStream(t *testing.T) {
	got := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer c.CloseNow()
		rd := &wsbytes.Reader{C: c}
		b := make([]byte, 5)
		if _, err := io.ReadFull(rd, b); err != nil {
			got <- "read: " + err.Error()
			return
		}
		got <- string(b)
		_, err = rd.Read(b)
		if errors.Is(err, wsbytes.ErrText) && errors.Is(err, wirepb.ErrBadFrame) {
			got <- "text refused"
		} else {
			got <- "after the text message: " + err.Error()
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, m := range []string{"ab", "", "cde"} {
		if err := c.Write(ctx, websocket.MessageBinary, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"abcde", "text refused"} {
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("server: %q, want %q", s, want)
			}
		case <-ctx.Done():
			t.Fatal("the server read nothing")
		}
	}
}
