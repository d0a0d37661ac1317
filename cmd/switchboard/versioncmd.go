package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/internal/version"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the build: version, commit and Go version (a node's: cluster members)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				return printJSON(os.Stdout, version.Get())
			}
			fmt.Println(version.Get())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
