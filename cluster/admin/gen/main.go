// Command gen writes cluster/admin/schemadocs.json, the doc comments of
// the types the HTTP API's description names (make generate runs it
// before it writes docs/openapi.json).
package main

import (
	"fmt"
	"os"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

func main() {
	b, err := admin.SchemaDocsJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("cluster/admin/schemadocs.json", b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
