package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

func newOpenAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3 description of the node's HTTP API (a node serves it at /api/v1/openapi.json)",
		Long: "Print the OpenAPI 3 description of the node's HTTP API: every endpoint, the scope an API key needs for it,\n" +
			"and the JSON it takes and answers. Feed it to a client generator for your servers' language.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := admin.OpenAPIJSON()
			if err != nil {
				return err
			}
			_, err = os.Stdout.Write(b)
			return err
		},
	}
}
