package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
)

// newPostCmd posts a message as any user through the admin API, as a
// business's server does (POST /api/v1/messages).
func newPostCmd() *cobra.Command {
	var o adminOptions
	var req admin.PostMessageRequest
	var cardFile string
	cmd := &cobra.Command{
		Use:   "post",
		Short: "Post a message as a user, from your server (through the admin API)",
		Long: `Post a text or a card as --as, through the admin API: what a business's server
does to tell a buyer their order shipped. The sender's rules hold as for a
client (a member of --conv; to --to, a first contact's budget and blocks;
rate limits, the content policy). --key is the idempotency key: posting
again with it is answered with the first post.`,
		Example: `  switchboard post --as shop --to buyer --key order-1-shipped --text "Your order shipped"
  switchboard post --as shop --conv d:buyer:shop --key order-1-card --card-file card.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cardFile != "" {
				b, err := os.ReadFile(cardFile)
				if err != nil {
					return err
				}
				req.Card = json.RawMessage(b)
			}
			var res admin.PostedMessage
			if err := o.callWith(cmd.Context(), http.MethodPost, "/api/v1/messages", req, &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			dup := ""
			if res.Duplicate {
				dup = " (posted before with this key)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "posted %s #%d%s\n", res.Conv, res.Seq, dup)
			return nil
		},
	}
	o.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&req.Sender, "as", "", "the user the message is from")
	f.StringVar(&req.Conv, "conv", "", "the conversation")
	f.StringVar(&req.To, "to", "", "instead of --conv: the user, in your direct conversation (created on first use)")
	f.StringVar(&req.ClientMsgID, "key", "", "idempotency key (a retry with it is answered with the first post)")
	f.StringVar(&req.Text, "text", "", "the text")
	f.StringVar(&cardFile, "card-file", "", "instead of --text: a card's JSON (docs/PROTOCOL.md, \"Cards\")")
	f.Uint64Var(&req.ReplyTo, "reply-to", 0, "the seq of the message this one answers")
	_ = cmd.MarkFlagRequired("as")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

// newTranscriptCmd prints a conversation's log through the admin API,
// page by page (GET /api/v1/conversations/{conv}/messages).
func newTranscriptCmd() *cobra.Command {
	var o adminOptions
	var conv string
	var after uint64
	cmd := &cobra.Command{
		Use:   "transcript",
		Short: "A conversation's messages, oldest first, for your records (through the admin API)",
		Long: `Print every message of a conversation from --after on, as the operator reads it
(no member's rules: a ticket's copy, an audit; every read is logged by the
node): texts, cards, files (their names), edits, reactions, recalls, and
membership and desk steps. --json prints one JSON message per line.`,
		Example: `  switchboard transcript --conv s:cars:c1:1 > ticket-4711.txt`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			for {
				var page admin.Transcript
				p := "/api/v1/conversations/" + url.PathEscape(conv) + "/messages?limit=1000&after=" + strconv.FormatUint(after, 10)
				if err := o.call(cmd.Context(), http.MethodGet, p, &page); err != nil {
					return err
				}
				for _, m := range page.Messages {
					if o.json {
						if err := enc.Encode(m); err != nil {
							return err
						}
						continue
					}
					printTranscriptLine(out, m)
				}
				if page.Next == 0 {
					return nil
				}
				after = page.Next
			}
		},
	}
	o.flags(cmd)
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this seq")
	return cmd
}

func printTranscriptLine(w io.Writer, m admin.TranscriptMessage) {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", m.Seq, m.SentAt.Format("2006-01-02 15:04:05Z"), m.Sender)
	if m.SenderName != "" {
		fmt.Fprintf(&b, " %q", m.SenderName)
	}
	if m.Role != "" {
		fmt.Fprintf(&b, " (%s)", m.Role)
	}
	switch {
	case m.Expired:
		b.WriteString(": [expired]")
	case m.Recalled:
		b.WriteString(": [recalled]")
	case m.Kind == "text":
		fmt.Fprintf(&b, ": %s", m.Text)
	case m.Kind == "recall":
		fmt.Fprintf(&b, " recalled #%d", m.RefSeq)
	default:
		fmt.Fprintf(&b, " [%s", m.Kind)
		if m.RefSeq != 0 {
			fmt.Fprintf(&b, " of #%d", m.RefSeq)
		}
		fmt.Fprintf(&b, "] %s", m.Text)
	}
	if f := m.File; f != nil && !m.Recalled {
		fmt.Fprintf(&b, " [file %s, %s, %d bytes]", f.Name, f.Type, f.Size)
	}
	fmt.Fprintln(w, b.String())
}
