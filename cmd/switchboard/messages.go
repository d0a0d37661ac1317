package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func newSendCmd() *cobra.Command {
	var o clientOptions
	var to, topic, conv, text, clientMsgID, cardFile, file, fileType, location, placeName string
	var replyTo uint64
	var mention []string
	var at string
	var in, length, live time.Duration
	var mentionAll bool
	var meta map[string]string
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send a message (to user:NAME, or to a conversation)",
		Example: `  switchboard send --data-dir D --user alice --to user:bob --text hi --json
  switchboard send --data-dir D --user buyer --to user:seller --topic listing-7 --text "is the lamp still there?"
  switchboard send --data-dir D --user buyer --to user:seller --location 52.5200,13.4050 --place "Café am Markt" --text "here at 6?"
  switchboard send --data-dir D --user alice --conv g:team --text hello
  switchboard send --data-dir D --user shop --to user:buyer --text "your parcel is on its way" --meta tracking=JD014600,carrier=dhl
  switchboard send --data-dir D --user bob --conv d:alice:bob --reply-to 1 --text "it is"
  switchboard send --data-dir D --user olga --conv g:class --mention mia,max --text "@mia @max homework is up"
  switchboard send --data-dir D --user olga --conv g:class --mention-all --text "@all no class tomorrow"
  switchboard send --data-dir D --user alice --to user:bob --file scratch.jpg --text "this scratch"
  switchboard send --data-dir D --user alice --to user:bob --file note.ogg --length 42s
  switchboard send --data-dir D --user olga --conv g:class --in 12h --text "homework: page 14"
  switchboard send --data-dir D --user olga --conv g:class --at 2026-12-07T07:00:00+01:00 --text "good morning"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := parseTarget(to, conv)
			if err != nil {
				return err
			}
			if topic != "" {
				if target.User == "" {
					return errors.New("--topic goes with --to user:NAME (a conversation's id names its own)")
				}
				target.Topic = topic
			}
			if at != "" || in != 0 {
				if file != "" || replyTo != 0 || len(mention) > 0 || clientMsgID != "" || (at != "" && in != 0) {
					return errors.New("--at or --in schedules a --text or --card, alone")
				}
				when := time.Now().Add(in)
				if at != "" {
					if when, err = time.Parse(time.RFC3339, at); err != nil {
						return fmt.Errorf("--at: %w (give a time like 2026-12-07T07:00:00+01:00)", err)
					}
				}
				return scheduleSend(cmd, &o, target, text, cardFile, when)
			}
			if file != "" {
				if cardFile != "" || replyTo != 0 || len(mention) > 0 || clientMsgID != "" {
					return errors.New("--file sends a file with --text as its caption, alone")
				}
				return sendFile(cmd, &o, target, file, fileType, text, length)
			}
			if length != 0 {
				return errors.New("--length goes with a --file")
			}
			if live != 0 && location == "" {
				return errors.New("--live goes with a --location")
			}
			if location != "" || placeName != "" {
				if cardFile != "" || replyTo != 0 || len(mention) > 0 || mentionAll || clientMsgID != "" {
					return errors.New("--location sends a place with --text as its caption, alone")
				}
				return sendLocation(cmd, &o, target, location, placeName, text, live)
			}
			if (text == "") == (cardFile == "") {
				return errors.New("give --text or --card")
			}
			if len(meta) > 0 && (cardFile != "" || replyTo != 0 || len(mention) > 0 || mentionAll) {
				return errors.New("--meta goes with a plain --text")
			}
			if replyTo != 0 && (target.Conv == "" || cardFile != "") {
				return errors.New("--reply-to answers a text message of --conv")
			}
			if (len(mention) > 0 || mentionAll) && (target.Conv == "" || cardFile != "" || replyTo != 0) {
				return errors.New("--mention and --mention-all name members of --conv in a text message (not a reply)")
			}
			if mentionAll && len(mention) > 0 {
				return errors.New("--mention-all names everyone: give it or --mention")
			}
			var card []byte
			if cardFile != "" {
				if card, err = os.ReadFile(cardFile); err != nil {
					return err
				}
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				send := c.Send
				body := []byte(text)
				if card != nil {
					send, body = c.SendCard, card
				}
				switch {
				case replyTo != 0:
					send = func(to client.Target, body []byte, id string) (*client.Pending, error) {
						return c.Reply(to.Conv, replyTo, body, id)
					}
				case len(mention) > 0:
					send = func(to client.Target, body []byte, id string) (*client.Pending, error) {
						return c.Mention(to.Conv, mention, body, id)
					}
				case mentionAll:
					send = func(to client.Target, body []byte, id string) (*client.Pending, error) {
						return c.MentionAll(to.Conv, body, id)
					}
				case len(meta) > 0:
					send = func(to client.Target, body []byte, id string) (*client.Pending, error) {
						return c.SendWithMeta(to, body, meta, id)
					}
				}
				p, err := send(target, body, clientMsgID)
				if err != nil {
					return err
				}
				m, err := p.Wait(ctx)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": m.Conv, "seq": m.Seq, "msg_id": strconv.FormatUint(m.MsgID, 10),
						"client_msg_id": m.ClientMsgID, "server_ts_ms": millis(m.ServerTime), "flagged": m.Flagged})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "sent %s #%d\n", m.Conv, m.Seq)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&to, "to", "", "user:NAME for the direct conversation, or conv:ID")
	cmd.Flags().StringVar(&topic, "topic", "", "with --to user:NAME: the conversation with them about this topic (a listing, an order: letters, digits and ._@-)")
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().StringVar(&text, "text", "", "message text")
	cmd.Flags().StringVar(&cardFile, "card", "", "send a business card: a JSON file {title, fields, image_url, actions} (docs/DESK.md)")
	cmd.Flags().StringVar(&clientMsgID, "client-msg-id", "", "idempotency key (a resend with the same key is stored once)")
	cmd.Flags().Uint64Var(&replyTo, "reply-to", 0, "the seq of the message of --conv this one answers")
	cmd.Flags().StringSliceVar(&mention, "mention", nil, "members of --conv the message mentions (notified even where they muted it)")
	cmd.Flags().BoolVar(&mentionAll, "mention-all", false, "mention every member of the group --conv (\"@all\"; its owners and admins)")
	cmd.Flags().StringVar(&file, "file", "", "send this file (--text is its caption; the conversation must exist)")
	cmd.Flags().StringVar(&fileType, "type", "", "the file's content type (default: from its name, else its first bytes)")
	cmd.Flags().StringToStringVar(&meta, "meta", nil, "the app's own data about the message, KEY=VALUE,… (an order's id): its members' apps read it, nobody is shown it")
	cmd.Flags().StringVar(&location, "location", "", "share a place: LAT,LNG in degrees (--text is its caption)")
	cmd.Flags().StringVar(&placeName, "place", "", "the --location's name (\"Café am Markt\")")
	cmd.Flags().DurationVar(&live, "live", 0, "share the --location live for this long (at most the node's --max-live-location-for): its sender's app moves it")
	cmd.Flags().DurationVar(&length, "length", 0, "how long the --file plays (a voice note, a video; at most 24h): shown before it is downloaded")
	cmd.Flags().StringVar(&at, "at", "", "schedule it: the node sends it at this time (RFC 3339)")
	cmd.Flags().DurationVar(&in, "in", 0, "schedule it: the node sends it this long from now")
	return cmd
}

// scheduleSend schedules a text (or the card in cardFile) to target at at.
func scheduleSend(cmd *cobra.Command, o *clientOptions, target client.Target, text, cardFile string, at time.Time) error {
	kind, body := wirepb.MessageKind_NORMAL, []byte(text)
	if cardFile != "" {
		if text != "" {
			return errors.New("give --text or --card")
		}
		var err error
		if body, err = os.ReadFile(cardFile); err != nil {
			return err
		}
		kind = wirepb.MessageKind_CARD
	}
	return withClient(cmd, o, func(ctx context.Context, c *client.Client) error {
		s, err := c.Schedule(ctx, target, client.Message{Kind: kind, Body: body}, at)
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(cmd.OutOrStdout(), toJSONScheduled(s))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "scheduled %s for %s\n", s.ID, s.At.Local().Format(time.RFC3339))
		return nil
	})
}

// liveState is how a history line says a live location's state: until
// when it moves, or that it ended; nothing for a fixed place.
func liveState(l *wirepb.Location) string {
	switch {
	case l.LiveUntilMs == 0:
		return ""
	case time.Now().UnixMilli() < l.LiveUntilMs:
		return ", live until " + time.UnixMilli(l.LiveUntilMs).Local().Format(time.TimeOnly)
	}
	return ", live, ended"
}

// sendLocation shares the place at "LAT,LNG" (named name) with caption; a
// live share (live > 0) moves for that long (MoveLocation).
func sendLocation(cmd *cobra.Command, o *clientOptions, target client.Target, at, name, caption string, live time.Duration) error {
	lat, lng, ok := strings.Cut(at, ",")
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	ln, err2 := strconv.ParseFloat(strings.TrimSpace(lng), 64)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("--location %q: give LAT,LNG in degrees, like 52.5200,13.4050", at)
	}
	return withClient(cmd, o, func(ctx context.Context, c *client.Client) error {
		send := c.SendLocation
		if live > 0 {
			send = func(to client.Target, lat, lng float64, name, caption string) (*client.Pending, error) {
				return c.SendLiveLocation(to, lat, lng, name, caption, time.Now().Add(live))
			}
		}
		p, err := send(target, la, ln, name, caption)
		if err != nil {
			return err
		}
		m, err := p.Wait(ctx)
		if err != nil {
			return err
		}
		return printMessage(cmd, o, m)
	})
}

// sendFile uploads path into the target's conversation and sends it.
func sendFile(cmd *cobra.Command, o *clientOptions, target client.Target, path, mimeType, caption string, length time.Duration) error {
	data, mimeType, err := readFile(path, mimeType)
	if err != nil {
		return err
	}
	return withClient(cmd, o, func(ctx context.Context, c *client.Client) error {
		conv := target.Conv
		if conv == "" {
			conv = wirepb.DirectTopicConvID(c.User(), target.User, target.Topic)
		}
		var opts []client.UploadOption
		if length != 0 {
			opts = append(opts, client.WithDuration(length))
		}
		m, err := c.SendFile(ctx, conv, filepath.Base(path), mimeType, data, caption, opts...)
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(cmd.OutOrStdout(), map[string]any{"conv": m.Conv, "seq": m.Seq, "media_id": m.Media.GetId(),
				"name": m.Media.GetName(), "type": m.Media.GetMime(), "size": m.Media.GetSize()})
		}
		fmt.Fprintf(cmd.OutOrStdout(), "sent %s #%d (%s, %d bytes)\n", m.Conv, m.Seq, m.Media.GetName(), m.Media.GetSize())
		return nil
	})
}

// readFile reads a file to send and its content type: typ if given, else
// from its name, else from its first bytes; without parameters, as the
// node takes it.
func readFile(path, typ string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	if typ == "" {
		if typ = mime.TypeByExtension(filepath.Ext(path)); typ == "" {
			typ = http.DetectContentType(data)
		}
	}
	if t, _, err := mime.ParseMediaType(typ); err == nil {
		typ = t
	}
	return data, typ, nil
}

// saveDownload writes a downloaded file to path, or, with none, to the
// file's own name in the working directory, which it never overwrites
// (a name is the sender's choice, not the reader's).
func saveDownload(ref *wirepb.MediaRef, data []byte, path string) (string, error) {
	if path != "" {
		return path, os.WriteFile(path, data, 0o644)
	}
	path = filepath.Base(ref.GetName()) // the node refuses names with separators; Base is the backstop
	if path == "." || path == ".." || path == string(filepath.Separator) {
		return "", fmt.Errorf("the file's name %q is no file name here: give a path to save it to", ref.GetName())
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("%s exists: give a path to save it to", path)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return "", err
	}
	return path, f.Close()
}

func newForwardCmd() *cobra.Command {
	var o clientOptions
	var from, to, conv string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "forward",
		Short: "Forward a message (a text or a file) you can read to user:NAME or a conversation",
		Long: `Forward sends a copy of message --seq of conversation --from as your own,
labelled forwarded: the text as its sender last edited it, the file copied
by the node (nothing is downloaded or uploaded again). The copy does not
say where it came from.`,
		Example: `  switchboard forward --data-dir D --user buyer --from g:market --seq 12 --to user:partner
  switchboard forward --data-dir D --user buyer --from g:market --seq 12 --conv g:friends --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target, err := parseTarget(to, conv)
			if err != nil {
				return err
			}
			if from == "" || seq == 0 {
				return errors.New("give --from CONV and --seq N: the message to forward")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				p, err := c.Forward(target, from, seq)
				if err != nil {
					return err
				}
				m, err := p.Wait(ctx)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), toJSONMessage(m))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "forwarded %s #%d as %s #%d\n", from, seq, m.Conv, m.Seq)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&from, "from", "", "the conversation of the message to forward")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the seq of the message to forward")
	cmd.Flags().StringVar(&to, "to", "", "user:NAME for the direct conversation, or conv:ID")
	cmd.Flags().StringVar(&conv, "conv", "", "the conversation to forward it into")
	return cmd
}

func newDownloadCmd() *cobra.Command {
	var o clientOptions
	var conv, out string
	var seq uint64
	cmd := &cobra.Command{
		Use:     "download",
		Short:   "Save the file attached to a message",
		Example: `  switchboard download --data-dir D --user bob --conv d:alice:bob --seq 2 --out scratch.jpg`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				ref, data, err := c.Download(ctx, conv, seq)
				if err != nil {
					return err
				}
				path, err := saveDownload(ref, data, out)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"path": path, "name": ref.Name, "type": ref.Mime, "size": ref.Size})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "saved %s (%s, %d bytes)\n", path, ref.Mime, ref.Size)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the message that carries the file")
	cmd.Flags().StringVar(&out, "out", "", "where to save it (default: the file's name, here, never over an existing file)")
	return cmd
}

func parseTarget(to, conv string) (client.Target, error) {
	switch {
	case to != "" && conv != "":
		return client.Target{}, errors.New("give --to or --conv, not both")
	case conv != "":
		return client.ToConv(conv), nil
	case strings.HasPrefix(to, "user:"):
		return client.ToUser(strings.TrimPrefix(to, "user:")), nil
	case strings.HasPrefix(to, "conv:"):
		return client.ToConv(strings.TrimPrefix(to, "conv:")), nil
	case to != "":
		return client.ToUser(to), nil
	}
	return client.Target{}, errors.New("give --to user:NAME or --conv ID")
}

func newHistoryCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var from, to uint64
	var limit int
	var since string
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Print a conversation's messages (the latest page, a seq range, or from a date), oldest first",
		Example: `  switchboard history --data-dir D --user bob --conv d:alice:bob
  switchboard history --data-dir D --user bob --conv g:class --since 2026-12-07T09:00:00+01:00 --limit 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			var at time.Time
			if since != "" {
				if from != 0 {
					return errors.New("--since or --from, not both")
				}
				var err error
				if at, err = time.Parse(time.RFC3339, since); err != nil {
					return fmt.Errorf("--since: %w (give a time like 2026-12-07T09:00:00+01:00)", err)
				}
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if !at.IsZero() {
					seq, _, err := c.SeqAt(ctx, conv, at)
					if err != nil {
						return err
					}
					if seq == 0 {
						return nil // nothing that recent
					}
					from = seq
				}
				ms, err := c.History(ctx, conv, client.HistoryOptions{FromSeq: from, ToSeq: to, Limit: limit, OldestFirst: from > 0})
				if err != nil {
					return err
				}
				sort.Slice(ms, func(i, j int) bool { return ms[i].Seq < ms[j].Seq })
				if o.json {
					out := make([]jsonMessage, len(ms))
					for i, m := range ms {
						out[i] = toJSONMessage(m)
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, m := range ms {
					fmt.Fprintln(cmd.OutOrStdout(), formatMessage(m))
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&from, "from", 0, "first seq (default: the latest page)")
	cmd.Flags().Uint64Var(&to, "to", 0, "last seq (0: the latest)")
	cmd.Flags().IntVar(&limit, "limit", 50, "messages at most (the server caps a page)")
	cmd.Flags().StringVar(&since, "since", "", "start at the first message sent at or after this time (RFC 3339): jump to a date")
	return cmd
}

func formatMessage(m client.Message) string {
	ts := ""
	if !m.ServerTime.IsZero() {
		ts = m.ServerTime.Local().Format(time.TimeOnly)
	}
	switch {
	case m.Kind == wirepb.MessageKind_RECALL:
		return fmt.Sprintf("#%-4d %s %s recalled #%d", m.Seq, ts, m.Sender, m.RefSeq)
	case m.Kind == wirepb.MessageKind_REACTION && len(m.Body) == 0:
		return fmt.Sprintf("#%-4d %s %s took back their reaction to #%d", m.Seq, ts, m.Sender, m.RefSeq)
	case m.Kind == wirepb.MessageKind_REACTION:
		return fmt.Sprintf("#%-4d %s %s reacted %s to #%d", m.Seq, ts, m.Sender, string(m.Body), m.RefSeq)
	case m.Kind == wirepb.MessageKind_VOTE && len(m.Body) == 0:
		return fmt.Sprintf("#%-4d %s %s took back their vote on #%d", m.Seq, ts, m.Sender, m.RefSeq)
	case m.Kind == wirepb.MessageKind_VOTE:
		return fmt.Sprintf("#%-4d %s %s voted %s on #%d", m.Seq, ts, m.Sender, string(m.Body), m.RefSeq)
	case m.Kind == wirepb.MessageKind_POLL && m.RefSeq != 0:
		return fmt.Sprintf("#%-4d %s %s closed the poll #%d", m.Seq, ts, m.Sender, m.RefSeq)
	case m.Kind == wirepb.MessageKind_SYSTEM:
		return fmt.Sprintf("#%-4d %s * %s", m.Seq, ts, string(m.Body))
	case m.Expired && !m.ExpiresAt.IsZero():
		return fmt.Sprintf("#%-4d %s %s: (disappeared)", m.Seq, ts, m.Sender)
	case m.Expired:
		return fmt.Sprintf("#%-4d %s %s: (expired)", m.Seq, ts, m.Sender)
	case m.Recalled:
		return fmt.Sprintf("#%-4d %s %s: (recalled)", m.Seq, ts, m.Sender)
	case m.IsEdit() && m.Location != nil && len(m.Body) == 0:
		return fmt.Sprintf("#%-4d %s %s moved #%d to %.6f,%.6f%s", m.Seq, ts, m.Sender, m.RefSeq, m.Location.Lat, m.Location.Lng, liveState(m.Location))
	case m.IsEdit():
		return fmt.Sprintf("#%-4d %s %s edited #%d: %s", m.Seq, ts, m.Sender, m.RefSeq, string(m.Body))
	}
	reply, edited := "", ""
	if m.Media != nil {
		if d := m.Media.DurationMs; d > 0 {
			edited += fmt.Sprintf(" [file %s, %s, %d bytes, %v long]", m.Media.Name, m.Media.Mime, m.Media.Size, time.Duration(d)*time.Millisecond)
		} else if m.Media.Width > 0 && m.Media.Height > 0 {
			edited += fmt.Sprintf(" [file %s, %s, %d bytes, %d×%d]", m.Media.Name, m.Media.Mime, m.Media.Size, m.Media.Width, m.Media.Height)
		} else {
			edited += fmt.Sprintf(" [file %s, %s, %d bytes]", m.Media.Name, m.Media.Mime, m.Media.Size)
		}
	}
	if l := m.Location; l != nil {
		edited += fmt.Sprintf(" [📍 %s %.6f,%.6f%s]", cmp.Or(l.Name, "location"), l.Lat, l.Lng, liveState(l))
	}
	if len(m.Meta) > 0 {
		pairs := make([]string, 0, len(m.Meta))
		for _, k := range slices.Sorted(maps.Keys(m.Meta)) {
			pairs = append(pairs, k+"="+m.Meta[k])
		}
		edited += " {" + strings.Join(pairs, ", ") + "}"
	}
	if m.Forwarded {
		reply = "(forwarded) "
		if m.ForwardHops >= client.ForwardedManyTimes {
			reply = "(forwarded many times) "
		}
	}
	if m.AutoReply {
		reply = "(automatic reply) "
	}
	if m.ReplyTo != 0 {
		reply += fmt.Sprintf("(to #%d) ", m.ReplyTo)
	}
	if len(m.Mentions) > 0 {
		reply += "(@" + strings.Join(m.Mentions, " @") + ") "
	}
	if m.MentionAll {
		reply += "(@all) "
	}
	if m.EditSeq != 0 {
		edited += " (edited)"
	}
	for _, r := range m.Reactions {
		edited += fmt.Sprintf(" [%s %d]", r.Emoji, len(r.Users))
	}
	if !m.ExpiresAt.IsZero() {
		edited += " (disappears " + m.ExpiresAt.Local().Format(time.DateTime) + ")"
	}
	body := string(m.Body)
	if m.Kind == wirepb.MessageKind_POLL {
		body = formatPoll(m)
	}
	return fmt.Sprintf("#%-4d %s %s: %s%s%s", m.Seq, ts, m.Sender, reply, body, edited)
}

func newSyncCmd() *cobra.Command {
	var o clientOptions
	var cursor uint64
	var ack bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Print the conversations changed since the device's cursor",
		Long: `Print what a device would sync: the conversations changed since its stored
cursor (or --cursor), with last seq, unread count and read cursor. It only
looks; --ack moves the device cursor past what was printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				w := c.Welcome()
				page := w.Sync
				var err error
				if cmd.Flags().Changed("cursor") {
					if page, err = c.SyncFrom(ctx, cursor, 0); err != nil {
						return err
					}
				}
				all := append([]*wirepb.ConvSummary(nil), page.Conversations...)
				for page.More {
					if page, err = c.SyncFrom(ctx, page.Cursor, 0); err != nil {
						return err
					}
					all = append(all, page.Conversations...)
				}
				if ack {
					if _, err := c.AckSync(ctx, page.Cursor); err != nil {
						return err
					}
				}
				if o.json {
					convs := make([]jsonSummary, len(all))
					for i, s := range all {
						convs[i] = toJSONSummary(s)
					}
					return printJSON(cmd.OutOrStdout(), map[string]any{"cursor": page.Cursor, "device_cursor": w.Cursor,
						"total_unread": page.TotalUnread, "conversations": convs})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "cursor %d (device cursor was %d), %d unread\n", page.Cursor, w.Cursor, page.TotalUnread)
				for _, s := range all {
					fmt.Fprintf(cmd.OutOrStdout(), "%-32s last #%-5d read #%-5d unread %d%s\n", s.Conv, s.LastSeq, s.ReadSeq, s.Unread, mentionBadge(s.UnreadMentions))
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().Uint64Var(&cursor, "cursor", 0, "sync from this cursor instead of the device's")
	cmd.Flags().BoolVar(&ack, "ack", false, "move the device cursor past what was printed")
	return cmd
}

func newReadCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	var all bool
	cmd := &cobra.Command{
		Use:   "read",
		Short: "Mark a conversation read up to a seq (default: all of it), or with --all every conversation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				if conv != "" || seq != 0 {
					return errors.New("--all goes without --conv and --seq")
				}
				return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
					n, total, err := c.MarkAllRead(ctx)
					if err != nil {
						return err
					}
					if o.json {
						return printJSON(cmd.OutOrStdout(), map[string]any{"conversations": n, "total_unread": total})
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%d conversations read; %d unread in all\n", n, total)
					return nil
				})
			}
			if conv == "" {
				return errors.New("give --conv (or --all)")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if seq == 0 {
					last, err := c.History(ctx, conv, client.HistoryOptions{Limit: 1})
					if err != nil {
						return err
					}
					if len(last) > 0 {
						seq = last[0].Seq
					}
				}
				readSeq, total, err := c.MarkRead(ctx, conv, seq)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "read_seq": readSeq, "total_unread": total})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s read up to #%d; %d unread in all\n", conv, readSeq, total)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "read up to this seq (0: the latest)")
	cmd.Flags().BoolVar(&all, "all", false, "read every conversation up to its last message (mark all as read)")
	return cmd
}

func newRecallCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "recall",
		Short: "Recall (withdraw) a message",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				ev, err := c.Recall(ctx, conv, seq)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "seq": seq, "recall_seq": ev})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "recalled %s #%d (event #%d)\n", conv, seq, ev)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the message's seq")
	return cmd
}

func newReactCmd() *cobra.Command {
	var o clientOptions
	var conv, emoji string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "react",
		Short: "React to a message with an emoji, or take the reaction back",
		Long: `Set the user's reaction to a text or card (one per user and message: a new
one replaces the one before), or take it back with --emoji "". Clients show
each message's reactions grouped by emoji.`,
		Example: `  switchboard react --data-dir D --user bob --conv g:team --seq 7 --emoji 👍
  switchboard react --data-dir D --user bob --conv g:team --seq 7 --emoji ""`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 || !cmd.Flags().Changed("emoji") {
				return errors.New("give --conv, --seq and --emoji (\"\" takes the reaction back)")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				m, err := c.React(ctx, conv, seq, emoji)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), toJSONMessage(m))
				}
				fmt.Fprintln(cmd.OutOrStdout(), formatMessage(m))
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the seq of the message to react to")
	cmd.Flags().StringVar(&emoji, "emoji", "", "the reaction (empty: take it back)")
	return cmd
}

func newEditCmd() *cobra.Command {
	var o clientOptions
	var conv, text string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "edit",
		Short: "Replace the text of one of the user's messages (within the node's edit window)",
		Long: `Replace the text of one of the user's own messages. The edit is a message of
its own (its ref_seq names the message it edits); clients show the message
with the newest edit's text. Past the node's --edit-window: EDIT_EXPIRED.`,
		Example: `  switchboard edit --data-dir D --user alice --conv d:alice:bob --seq 1 --text "see you at 6"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 || text == "" {
				return errors.New("give --conv, --seq and --text")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				m, err := c.Edit(ctx, conv, seq, text)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), toJSONMessage(m))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "edited %s #%d (edit #%d)\n", conv, seq, m.Seq)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the seq of the message to edit")
	cmd.Flags().StringVar(&text, "text", "", "the new text")
	return cmd
}

func newReadByCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	cmd := &cobra.Command{
		Use:     "read-by",
		Short:   "Who read one of the user's messages, and who did not yet",
		Example: `  switchboard read-by --data-dir D --user teacher --conv g:class --seq 3 --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || seq == 0 {
				return errors.New("give --conv and --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				read, unread, err := c.ReadBy(ctx, conv, seq)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string][]string{"read": nonNil(read), "unread": nonNil(unread)})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "read by %d: %s\nnot yet by %d: %s\n", len(read), strings.Join(read, " "), len(unread), strings.Join(unread, " "))
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "the seq of the user's message")
	return cmd
}

// newSearchCmd prints the messages of a conversation, or of all the
// user's conversations, that hold some words, newest first, page by page.
func newSearchCmd() *cobra.Command {
	var o clientOptions
	var conv, fromConv, query, sender string
	var before, thread uint64
	var files, mentions bool
	var limit int
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Find the messages that hold some words (ignoring case), or a member's, a conversation's files, a thread, your mentions; newest first: in one conversation, or in all the user's",
		Example: `  switchboard search --data-dir D --user agent1 --conv s:cars:c1:1 --query "order 1234"
  switchboard search --data-dir D --user alice --query "bike"   # every conversation of alice's
  switchboard search --data-dir D --user ann --conv g:class --files   # the class's shared files
  switchboard search --data-dir D --user ann --conv g:class --thread 12   # the replies to message 12
  switchboard search --data-dir D --user ann --conv g:class --sender teacher
  switchboard search --data-dir D --user ann --mentions   # where ann was mentioned or answered, in all her conversations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := client.SearchQuery{Words: query, Sender: sender, Files: files, ReplyTo: thread, Mentions: mentions}
			if query == "" && sender == "" && !files && thread == 0 && !mentions {
				return errors.New("give --query, or a filter: --sender, --files, --thread, --mentions")
			}
			if thread != 0 && conv == "" {
				return errors.New("--thread needs --conv")
			}
			if conv != "" && fromConv != "" {
				return errors.New("--from-conv goes on a search of every conversation: leave out --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var ms []client.Message
				var next client.SearchCursor
				var err error
				if conv == "" {
					ms, next, err = c.SearchEverywhereBy(ctx, q, client.SearchCursor{Conv: fromConv, Before: before}, limit)
				} else {
					ms, next.Before, err = c.SearchBy(ctx, conv, q, before, limit)
				}
				if err != nil {
					return err
				}
				if o.json {
					out := struct {
						Messages []jsonMessage `json:"messages"`
						NextConv string        `json:"next_conv,omitempty"`
						Next     uint64        `json:"next_before,omitempty"`
					}{Messages: make([]jsonMessage, len(ms)), NextConv: next.Conv, Next: next.Before}
					for i, m := range ms {
						out.Messages[i] = toJSONMessage(m)
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, m := range ms {
					if conv == "" {
						fmt.Fprintf(cmd.OutOrStdout(), "%s ", m.Conv)
					}
					fmt.Fprintln(cmd.OutOrStdout(), formatMessage(m))
				}
				switch {
				case next.Conv != "":
					fmt.Fprintf(cmd.OutOrStdout(), "(more: --from-conv %s --before %d)\n", next.Conv, next.Before)
				case next.Before != 0:
					fmt.Fprintf(cmd.OutOrStdout(), "(more before #%d: --before %d)\n", next.Before, next.Before)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id (none: every conversation of the user's, in their list's order)")
	cmd.Flags().StringVar(&fromConv, "from-conv", "", "without --conv: go on from this conversation (what the last page said)")
	cmd.Flags().StringVar(&query, "query", "", "the words to find (may be left out with a filter)")
	cmd.Flags().StringVar(&sender, "sender", "", "only the messages this user sent")
	cmd.Flags().BoolVar(&files, "files", false, "only the messages with a file (shared media)")
	cmd.Flags().BoolVar(&mentions, "mentions", false, "only the messages that mention this user (by name, as the author a group reply answers, or everyone)")
	cmd.Flags().Uint64Var(&thread, "thread", 0, "only the replies to the message at this seq (needs --conv)")
	cmd.Flags().Uint64Var(&before, "before", 0, "search the messages before this seq (0: from the latest)")
	cmd.Flags().IntVar(&limit, "limit", 20, "matches at most (the server caps a page at 50)")
	return cmd
}

// newPresenceCmd tells whether a user is online, or when they were last
// seen, as another user who shares a conversation with them sees it.
func newPresenceCmd() *cobra.Command {
	var o clientOptions
	var of, conv, share string
	cmd := &cobra.Command{
		Use:   "presence",
		Short: "Whether a user is online, or when they were last seen (for one who shares a conversation with them); --share sets what this user shows",
		Example: `  switchboard presence --data-dir D --user alice --of bob [--conv g:team] [--json]
  switchboard presence --data-dir D --user alice --of bob,carol,dan   # one request for a chat list
  switchboard presence --data-dir D --user bob --share online-only   # others see whether bob is online, never when he was last seen`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if share != "" {
				s, ok := sharingNames[share]
				if !ok {
					return fmt.Errorf("--share: want everyone, online-only or nobody, got %q", share)
				}
				return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
					if err := c.SetPresenceSharing(ctx, s); err != nil {
						return err
					}
					if o.json {
						return printJSON(cmd.OutOrStdout(), map[string]any{"user": o.user, "share": share})
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s shares presence with: %s\n", o.user, share)
					return nil
				})
			}
			if of == "" {
				return errors.New("give --of, the user to look at (or --share)")
			}
			users := strings.Split(of, ",")
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				if len(users) == 1 {
					p, err := c.PresenceIn(ctx, of, conv)
					if err != nil {
						return err
					}
					if o.json {
						return printJSON(cmd.OutOrStdout(), presenceJSON(p))
					}
					printPresence(cmd.OutOrStdout(), p)
					return nil
				}
				// Several: one request; those not shared with this user are left out.
				ps, err := c.Presences(ctx, conv, users...)
				if err != nil {
					return err
				}
				if o.json {
					out := make([]map[string]any, len(ps))
					for i, p := range ps {
						out[i] = presenceJSON(p)
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, p := range ps {
					printPresence(cmd.OutOrStdout(), p)
				}
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&of, "of", "", "the user to look at, or several, comma-separated (one request; those this user shares no conversation with are left out)")
	cmd.Flags().StringVar(&conv, "conv", "", "a conversation both are members of (default: their direct one)")
	cmd.Flags().StringVar(&share, "share", "", "set what this user shows others: everyone, online-only (never when last seen) or nobody (always offline)")
	return cmd
}

// presenceJSON is a user's presence as presence --json prints it.
func presenceJSON(p client.UserPresence) map[string]any {
	out := map[string]any{"user": p.User, "online": p.Online, "devices": p.Devices}
	if !p.LastSeen.IsZero() {
		out["last_seen"] = p.LastSeen.UTC()
	}
	return out
}

// printPresence says whether a user is online, or when last seen.
func printPresence(w io.Writer, p client.UserPresence) {
	switch {
	case p.Online:
		fmt.Fprintf(w, "%s is online (%d devices)\n", p.User, p.Devices)
	case p.LastSeen.IsZero():
		fmt.Fprintf(w, "%s is offline (last seen: never, or not shared)\n", p.User)
	default:
		fmt.Fprintf(w, "%s is offline, last seen %s ago (%s)\n", p.User,
			time.Since(p.LastSeen).Round(time.Second), p.LastSeen.UTC().Format(time.RFC3339))
	}
}

var sharingNames = map[string]wirepb.PresenceSharing{"everyone": wirepb.PresenceSharing_PRESENCE_EVERYONE,
	"online-only": wirepb.PresenceSharing_PRESENCE_ONLINE_ONLY, "nobody": wirepb.PresenceSharing_PRESENCE_NOBODY}

// nonNil makes an empty list print as [] in JSON, not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func newConvsCmd() *cobra.Command {
	var o clientOptions
	var limit int
	var archived bool
	var label, topic string
	cmd := &cobra.Command{
		Use:   "convs",
		Short: "List the user's conversations with unread counts (--archived: the archived ones; --label: those labelled so; --topic: those about it)",
		Example: `  switchboard convs --data-dir D --user seller
  switchboard convs --data-dir D --user seller --topic listing-7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				var list []*wirepb.ConvSummary
				var total uint64
				var err error
				switch {
				case label != "" && topic != "":
					return errors.New("give --label or --topic")
				case topic != "":
					list, total, err = c.ListAbout(ctx, topic, "", limit, archived)
				case label != "":
					list, total, err = c.ListLabelled(ctx, label, "", limit, archived)
				case archived:
					list, total, err = c.ListArchived(ctx, "", limit)
				default:
					list, total, err = c.ListConversations(ctx, "", limit)
				}
				if err != nil {
					return err
				}
				if o.json {
					out := make([]jsonSummary, len(list))
					for i, s := range list {
						out[i] = toJSONSummary(s)
					}
					return printJSON(cmd.OutOrStdout(), out)
				}
				for _, s := range list {
					fmt.Fprintln(cmd.OutOrStdout(), formatSummary(s))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d unread in all\n", total)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().IntVar(&limit, "limit", 100, "conversations at most")
	cmd.Flags().BoolVar(&archived, "archived", false, "list the archived conversations instead of the main list")
	cmd.Flags().StringVar(&label, "label", "", "only the conversations the user labelled so (switchboard label)")
	cmd.Flags().StringVar(&topic, "topic", "", "only the direct conversations about this topic (send --topic): every buyer's chat about a listing")
	return cmd
}

func newLabelCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var add, remove []string
	cmd := &cobra.Command{
		Use:   "label",
		Short: "Label a conversation for the user alone (\"new customer\", \"paid\"); convs --label lists those labelled so",
		Example: `  switchboard label --data-dir D --user seller --conv d:buyer:seller --add paid --remove 'new customer'
  switchboard convs --data-dir D --user seller --label paid`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || len(add)+len(remove) == 0 {
				return errors.New("give --conv and a label to --add or --remove")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				labels, err := c.SetLabels(ctx, conv, add, remove)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "labels": labels})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", conv, strings.Join(labels, ", "))
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().StringArrayVar(&add, "add", nil, "a label to add (repeat)")
	cmd.Flags().StringArrayVar(&remove, "remove", nil, "a label to take away (repeat)")
	return cmd
}

func formatSummary(s *wirepb.ConvSummary) string {
	badge := ""
	if s.Unread > 0 {
		badge = fmt.Sprintf(" (%d%s)", s.Unread, mentionBadge(s.UnreadMentions))
	}
	last := ""
	if m := s.LastMessage; m != nil {
		last = fmt.Sprintf("  %s: %s", m.Sender, truncate(string(m.Body), 40))
		switch {
		case m.Expired:
			last = fmt.Sprintf("  %s: (expired)", m.Sender)
		case m.Recalled:
			last = fmt.Sprintf("  %s: (recalled)", m.Sender)
		}
	}
	pin := ""
	if s.Pinned {
		pin = "* "
	}
	switch {
	case s.Muted && s.MutedUntilMs > 0:
		badge += " (muted until " + time.UnixMilli(s.MutedUntilMs).UTC().Format(time.RFC3339) + ")"
	case s.Muted:
		badge += " (muted)"
	}
	switch {
	case s.Archived && s.ArchivedUntilMs > 0:
		badge += " (snoozed until " + time.UnixMilli(s.ArchivedUntilMs).UTC().Format(time.RFC3339) + ")"
	case s.Archived:
		badge += " (archived)"
	}
	if s.MarkedUnread {
		badge += " (marked unread)"
	}
	if len(s.Labels) > 0 {
		badge += " [" + strings.Join(s.Labels, ", ") + "]"
	}
	if f := s.Frozen; f != nil {
		if f.UntilMs != 0 {
			badge += " (frozen until " + time.UnixMilli(f.UntilMs).UTC().Format(time.RFC3339) + map[bool]string{true: ": " + f.Reason}[f.Reason != ""] + ")"
		} else {
			badge += " (frozen" + map[bool]string{true: ": " + f.Reason}[f.Reason != ""] + ")"
		}
	}
	name := s.Conv
	if s.Title != "" {
		name = fmt.Sprintf("%s %q", s.Conv, s.Title)
	}
	return fmt.Sprintf("%s%s%s%s", pin, name, badge, last)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// mentionBadge marks a count of unread messages that mention the user.
func mentionBadge(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" @%d", n)
}

func newClearCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seq uint64
	cmd := &cobra.Command{
		Use:   "clear",
		Short: "Clear a conversation for the user (\"delete chat\"): they no longer see its messages; the others keep theirs",
		Long: `Clear a conversation for the user up to --seq (default: all of it). The
user no longer sees those messages on any device (history, search, the
list's last message) and has read up to there; the other members keep
theirs, and a later message shows as usual. A clear never moves back.`,
		Example: `  switchboard clear --data-dir D --user buyer --conv d:buyer:seller`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" {
				return errors.New("give --conv")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				cleared, total, err := c.ClearHistory(ctx, conv, seq)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "cleared_seq": cleared, "total_unread": total})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s cleared up to #%d (total unread %d)\n", conv, cleared, total)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().Uint64Var(&seq, "seq", 0, "clear up to this seq (0: all of it)")
	return cmd
}

func newHideCmd() *cobra.Command {
	var o clientOptions
	var conv string
	var seqs []uint
	var undo bool
	cmd := &cobra.Command{
		Use:   "hide",
		Short: "Delete messages for the user alone (\"delete for me\"); the others keep them",
		Long: `Delete the messages at --seq (repeat it, at most 100) for the user alone:
they no longer see them on any device (history, search, the list's last
message), nor their edits and reactions; the other members keep them.
--undo shows them again.`,
		Example: `  switchboard hide --data-dir D --user buyer --conv d:buyer:seller --seq 2
  switchboard hide --data-dir D --user buyer --conv d:buyer:seller --seq 2 --undo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conv == "" || len(seqs) == 0 {
				return errors.New("give --conv and at least one --seq")
			}
			return withClient(cmd, &o, func(ctx context.Context, c *client.Client) error {
				hide := c.Hide
				if undo {
					hide = c.Unhide
				}
				asked := make([]uint64, len(seqs))
				for i, s := range seqs {
					asked[i] = uint64(s)
				}
				hidden, err := hide(ctx, conv, asked...)
				if err != nil {
					return err
				}
				if o.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"conv": conv, "hidden_seqs": hidden})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d messages deleted for %s %v\n", conv, len(hidden), o.user, hidden)
				return nil
			})
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&conv, "conv", "", "conversation id")
	cmd.Flags().UintSliceVar(&seqs, "seq", nil, "a message's seq (repeat, or comma-separated)")
	cmd.Flags().BoolVar(&undo, "undo", false, "show the messages again")
	return cmd
}
