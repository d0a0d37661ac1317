package admin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// maxSafeInt is the largest integer a JavaScript number (float64) holds
// exactly: 2^53.
var maxSafeInt = new(big.Int).Lsh(big.NewInt(1), 53)

// unsafeNumbers lists the integer tokens of a JSON document a JavaScript
// client would round: every 64-bit id must travel as a string instead.
func unsafeNumbers(r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var bad []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return bad, nil
		}
		if err != nil {
			return nil, err
		}
		n, ok := tok.(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE") {
			continue
		}
		v, ok := new(big.Int).SetString(string(n), 10)
		if !ok {
			return nil, fmt.Errorf("bad number %q", n)
		}
		if v.CmpAbs(maxSafeInt) > 0 {
			bad = append(bad, string(n))
		}
	}
}

func TestUnsafeNumbersSeen(t *testing.T) {
	bad, err := unsafeNumbers(strings.NewReader(`{"a":9007199254740992,"b":9007199254740993,"c":"9007199254740993","d":[1.5e300]}`))
	if err != nil || len(bad) != 1 || bad[0] != "9007199254740993" {
		t.Fatalf("got %v %v, want only the number above 2^53", bad, err)
	}
}

// TestAdminJSONSafeForJavaScript reads every GET endpoint of the admin API
// and checks that no integer in its JSON is beyond what a JavaScript
// client (the dashboard) holds exactly.
func TestAdminJSONSafeForJavaScript(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "admin-json"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(true)
	srv, err := admin.New(n, admin.Config{Token: "s3cret-s3cret-s3cret", Logger: log}, admin.Hooks{Connections: func() int { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(described(t, srv.Handler()))
	defer hs.Close()
	for _, path := range []string{"/api/v1/members", "/api/v1/status", "/api/v1/where/conversation/g:x", "/api/v1/grains", "/api/v1/metrics?window=1m"} {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer s3cret-s3cret-s3cret")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bad, err := unsafeNumbers(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, res.StatusCode, err)
		}
		if len(bad) > 0 {
			t.Fatalf("%s: integers above 2^53 %v: send them as strings", path, bad)
		}
	}
}
