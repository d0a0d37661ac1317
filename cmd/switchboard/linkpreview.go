package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
)

func newLinkPreviewCmd() *cobra.Command {
	var o clientOptions
	var url string
	cmd := &cobra.Command{
		Use:     "preview",
		Short:   "Print what a web page says of itself, as the node reads it for a link's preview",
		Example: `  switchboard preview --data-dir D --user ann --url https://shop.example/bike`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return errors.New("give --url")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				p, err := c.LinkPreview(ctx, url)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"url": p.Url, "title": p.Title, "description": p.Description, "image_url": p.ImageUrl, "site_name": p.SiteName})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\n", p.Title)
				for _, line := range []string{p.Description, p.SiteName, p.ImageUrl} {
					if line != "" {
						fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", line)
					}
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&url, "url", "", "the link (http or https)")
	return cmd
}
