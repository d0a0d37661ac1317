package transport_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestErrorCodesDocumented: the error table of docs/PROTOCOL.md §9 lists
// exactly the codes of the wire enum, name for number, so a client written
// from the document alone knows every code the node can answer.
func TestErrorCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| ([A-Z_]+) \|`).FindAllSubmatch(doc, -1)
	documented := map[int32]string{}
	for _, r := range rows {
		n, _ := strconv.Atoi(string(r[1]))
		documented[int32(n)] = string(r[2])
	}
	for n, name := range wirepb.Code_name {
		if documented[n] != name {
			t.Errorf("code %d %s: the document says %q", n, name, documented[n])
		}
	}
	for n, name := range documented {
		if wirepb.Code_name[n] != name {
			t.Errorf("the document lists %d %s, which the wire does not have", n, name)
		}
	}
	if len(documented) < 20 {
		t.Fatalf("found %d rows: the table was not read", len(documented))
	}
}
