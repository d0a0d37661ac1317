package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors/cards"
)

// cardFlags are serve's business card webhook flags.
type cardFlags struct {
	cfg        cards.Config
	secretFile string
}

func (c *cardFlags) register(f *pflag.FlagSet) {
	d := cards.DefaultConfig()
	f.StringVar(&c.cfg.URL, "card-webhook-url", "", "the business system's card webhook (HTTP POST of every card click); empty: clicks are refused")
	f.StringVar(&c.secretFile, "card-webhook-secret-file", "", "file holding the HMAC-SHA256 secret shared with the card webhook (else SWITCHBOARD_CARD_WEBHOOK_SECRET)")
	f.DurationVar(&c.cfg.Timeout, "card-webhook-timeout", d.Timeout, "one card webhook attempt times out after this")
	f.IntVar(&c.cfg.Retries, "card-webhook-retries", d.Retries, "card webhook retries after a 5xx, 429, timeout or network error")
	f.DurationVar(&c.cfg.Backoff, "card-webhook-backoff", d.Backoff, "first wait between card webhook attempts, doubled each time")
}

func (c *cardFlags) config() (cards.Config, error) {
	cfg := c.cfg
	if cfg.URL == "" {
		return cfg, nil
	}
	secret, err := webhookSecret("card", c.secretFile)
	cfg.Secret = secret
	return cfg, err
}

// webhookSecret reads the HMAC secret of the --NAME-webhook-url: from
// --NAME-webhook-secret-file, else SWITCHBOARD_NAME_WEBHOOK_SECRET; one of
// them is required.
func webhookSecret(name, file string) ([]byte, error) {
	env := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_WEBHOOK_SECRET"
	secret := os.Getenv(env)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--%s-webhook-secret-file: %w", name, err)
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return nil, fmt.Errorf("--%s-webhook-url needs a secret: --%s-webhook-secret-file or %s", name, name, env)
	}
	return []byte(secret), nil
}

func newCardCmd() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{Use: "card", Short: "Business cards: click a card's action (send one with `send --card`)"}
	var conv, action string
	var seq uint64
	click := &cobra.Command{
		Use:     "click",
		Short:   "Click an action of the card at --seq of --conv: the node asks the business's card webhook and posts its answer",
		Example: `  switchboard card click --data-dir D --user c1 --conv s:cars:c1:1 --seq 7 --action book`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := o.withTimeout(cmd.Context())
			defer cancel()
			c, err := o.connect(ctx, false)
			if err != nil {
				return err
			}
			defer c.Close()
			r, err := c.ClickCard(ctx, conv, seq, action)
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "mode": r.Mode, "seq": r.Seq, "duplicate": r.Duplicate})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s", conv, r.Mode)
			if r.Seq != 0 {
				fmt.Fprintf(cmd.OutOrStdout(), " #%s", strconv.FormatUint(r.Seq, 10))
			}
			fmt.Fprintln(cmd.OutOrStdout())
			return nil
		},
	}
	o.register(click.Flags())
	click.Flags().StringVar(&conv, "conv", "", "the conversation of the card")
	click.Flags().Uint64Var(&seq, "seq", 0, "the card's seq")
	click.Flags().StringVar(&action, "action", "", "the action id")
	for _, f := range []string{"conv", "seq", "action"} {
		_ = click.MarkFlagRequired(f)
	}
	cmd.AddCommand(click)
	return cmd
}
