package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// newAPIKeyCmd makes and revokes API keys: credentials for a business's
// servers limited to the parts of the admin API they need.
func newAPIKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Make and revoke API keys for your servers (scoped admin API credentials)",
		Long: `An API key lets a server use only the parts of the admin API its scopes name
(` + scopeNames() + `), where the admin token may use all of it. Nodes
read their keys from the file given to serve --api-keys-file, which holds each
key's name, scopes and SHA-256, never the key itself, and read it again while
they serve: add or revoke a key by changing the file on every node.`,
	}
	cmd.AddCommand(newAPIKeyNewCmd(), newAPIKeyRevokeCmd())
	return cmd
}

func scopeNames() string {
	names := make([]string, len(admin.Scopes))
	for i, s := range admin.Scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func newAPIKeyNewCmd() *cobra.Command {
	var name, scopes, file string
	var expiresIn time.Duration
	var keyRate int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Make a key: prints the key (once) and its line for the keys file",
		Example: `  switchboard apikey new --name shop-backend --scopes messages,members --file /etc/switchboard/api-keys
  switchboard apikey new --name desk-sync --scopes desk --expires-in 2160h   # refused from 90 days on
  switchboard apikey new --name crm --scopes messages --rate 20              # 429 past 20 requests a second`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []admin.Scope
			for _, s := range strings.Split(scopes, ",") {
				if s = strings.TrimSpace(s); s != "" {
					list = append(list, admin.Scope(s))
				}
			}
			key, entry, err := admin.NewAPIKey(name, list)
			if err != nil {
				return err
			}
			switch {
			case expiresIn < 0:
				return errors.New("--expires-in: want a positive duration, e.g. 2160h for 90 days")
			case expiresIn > 0:
				entry.Expires = time.Now().Add(expiresIn).Truncate(time.Second)
			}
			if keyRate < 0 || keyRate > admin.MaxKeyRate {
				return fmt.Errorf("--rate: want requests per second, 1 to %d (0: no limit of its own)", admin.MaxKeyRate)
			}
			entry.Rate = keyRate
			if file != "" {
				if err := appendKey(file, entry); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"name": name, "key": key, "line": entry.Line(), "file": file})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "key (shown once; give it to the server as its bearer token):\n  %s\n", key)
			if file != "" {
				fmt.Fprintf(out, "added to %s; nodes reading it take it within a second\n", file)
			} else {
				fmt.Fprintf(out, "its line for the keys file of every node (serve --api-keys-file):\n  %s\n", entry.Line())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the key's name, as the nodes' logs give it (letters, digits, -, _ and .)")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes: "+scopeNames())
	f.StringVar(&file, "file", "", "keys file to add the line to (created if missing)")
	f.DurationVar(&expiresIn, "expires-in", 0, "the key expires this long from now, e.g. 2160h (default: never)")
	f.IntVar(&keyRate, "rate", 0, "requests per second the key may make on each node, in bursts of as many; past it 429 (default: no limit of its own)")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// appendKey adds entry to the keys file, refusing a name already there.
func appendKey(path string, entry admin.APIKey) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	keys, err := admin.ParseAPIKeys(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range keys {
		if k.Name == entry.Name {
			return fmt.Errorf("%s already has a key named %s: revoke it first, or choose another name", path, entry.Name)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	data = append(data, entry.Line()+"\n"...)
	return writeFileAtomic(path, data, 0o600)
}

func newAPIKeyRevokeCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "revoke NAME",
		Short:   "Remove a key from a keys file",
		Example: `  switchboard apikey revoke shop-backend --file /etc/switchboard/api-keys`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return errors.New("give --file, the keys file")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			if _, err := admin.ParseAPIKeys(data); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			var kept []string
			found := false
			for _, line := range strings.SplitAfter(string(data), "\n") {
				if f := strings.Fields(line); len(f) == 3 && f[0] == args[0] && !strings.HasPrefix(f[0], "#") {
					found = true
					continue
				}
				kept = append(kept, line)
			}
			if !found {
				return fmt.Errorf("%s has no key named %s", file, args[0])
			}
			if err := writeFileAtomic(file, []byte(strings.Join(kept, "")), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s in %s; nodes reading it refuse it within a second\n", args[0], file)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the keys file")
	return cmd
}
