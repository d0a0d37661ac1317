// Command cardhook is a tiny business system for card clicks: the node
// POSTs a click to it (docs/DESK.md, "Business cards"), it checks the
// node's signature and answers, signed with the same secret, by replacing
// the card with one that says what was booked.
//
// On a dev node (the walkthrough in docs/DESK.md):
//
//	export SWITCHBOARD_CARD_WEBHOOK_SECRET=walkthrough-secret-0123
//	go run ./examples/cardhook --listen 127.0.0.1:8090
//	switchboard serve --dev --data-dir ./data --card-webhook-url http://127.0.0.1:8090/cards
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/switchboard-im/switchboard/actors/cards"
)

// maxBody bounds a click request (they are a few hundred bytes).
const maxBody = 64 << 10

// handler answers a signed click with a signed card update.
func handler(secret []byte, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if !cards.Verify(secret, body, r.Header.Get(cards.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req cards.Request
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad click: "+err.Error(), http.StatusBadRequest)
			return
		}
		log.Info("click", "user", req.User, "conv", req.Conv, "seq", req.Seq, "action", req.Action, "key", req.IdempotencyKey)
		card, _ := json.Marshal(map[string]string{"title": fmt.Sprintf("Booked: %s by %s", req.Action, req.User)})
		out, _ := json.Marshal(cards.Answer{Mode: "update", Card: card})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(cards.SignatureHeader, cards.Sign(secret, out))
		_, _ = w.Write(out)
	})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve POST /cards on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	secret := []byte(os.Getenv("SWITCHBOARD_CARD_WEBHOOK_SECRET"))
	if len(secret) < 16 {
		fmt.Fprintln(os.Stderr, "cardhook: set SWITCHBOARD_CARD_WEBHOOK_SECRET (at least 16 bytes), the node's card webhook secret")
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /cards", handler(secret, log))
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Info("card webhook listening", "addr", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "cardhook:", err)
		os.Exit(1)
	}
}
