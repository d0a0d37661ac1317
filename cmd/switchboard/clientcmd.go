package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// clientOptions are the flags every client command shares. Against a dev
// node (serve --dev) --data-dir and --user suffice: the address, the CA and
// the token secret are read from <data-dir>/dev. Against a deployment give
// --server, --ca and --token (or a key to mint one with).
type clientOptions struct {
	dataDir    string
	user       string
	device     string
	server     string
	websocket  string
	ca         string
	token      string
	secretFile string
	privateKey string
	tokenTTL   time.Duration
	timeout    time.Duration
	json       bool
	verbose    bool
}

func (o *clientOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.dataDir, "data-dir", "./data", "a dev node's data directory (address, CA and token secret)")
	f.StringVar(&o.user, "user", "", "the user to act as (with a minted token)")
	f.StringVar(&o.device, "device", "cli", "the device to act as (with --token: only for a token that names none, such as an identity provider's ID token)")
	f.StringVar(&o.server, "server", "", "the node's QUIC address host:port (default: from the dev data dir)")
	f.StringVar(&o.websocket, "websocket", "", "connect over WebSocket instead of QUIC, to this URL (ws://HOST:PORT/ws or wss://…, a node's --web)")
	f.StringVar(&o.ca, "ca", "", "PEM file of the CA to trust (default: the dev certificate, else the system roots)")
	f.StringVar(&o.token, "token", "", "the token to connect with (default: minted for --user/--device)")
	f.StringVar(&o.secretFile, "auth-secret-file", "", "HS256 secret to mint the token with (default: the dev secret)")
	f.StringVar(&o.privateKey, "private-key", "", "Ed25519 private key (PEM) to mint an EdDSA token with")
	f.DurationVar(&o.tokenTTL, "token-ttl", time.Hour, "lifetime of a minted token")
	f.DurationVar(&o.timeout, "timeout", 15*time.Second, "how long the command may take")
	f.BoolVar(&o.json, "json", false, "print JSON")
	f.BoolVar(&o.verbose, "verbose", false, "log the connection's events (reconnects, resyncs, refusals) to stderr; by default only warnings")
}

// logger is the client's: a command's output is its result, so the
// connection's routine events (a resync the server asked for, a
// reconnect) are shown only with --verbose.
func (o *clientOptions) logger() *slog.Logger {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// mint makes a token for user/device from the configured key.
func (o *clientOptions) mint(user, device string, opts ...transport.TokenOption) (string, error) {
	if !validID(user) {
		return "", errors.New("give --user (letters, digits, ._@-)")
	}
	if o.privateKey != "" {
		k, err := transport.ReadEd25519PrivateKey(o.privateKey)
		if err != nil {
			return "", err
		}
		return transport.MintEdDSA(k, user, device, o.tokenTTL, "", opts...)
	}
	file := o.secretFile
	if file == "" {
		file = devSecretPath(o.dataDir)
	}
	secret, err := readSecret(file)
	if err != nil {
		return "", fmt.Errorf("cannot mint a token (give --token, --auth-secret-file or --private-key, or --data-dir of a dev node): %w", err)
	}
	return transport.MintHS256(secret, user, device, o.tokenTTL, "", opts...)
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return false
		}
	}
	return true
}

func (o *clientOptions) config() (client.Config, error) {
	cfg := client.Config{Addr: o.server, WebSocketURL: o.websocket, Logger: o.logger()}
	caFile := o.ca
	if cfg.Addr == "" || caFile == "" {
		if info, err := readDevServerInfo(o.dataDir); err == nil {
			if cfg.Addr == "" {
				cfg.Addr = info.Addr
			}
			if caFile == "" {
				caFile = info.CA
			}
		} else if cfg.Addr == "" {
			return cfg, err
		}
	}
	tc := &tls.Config{}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return cfg, fmt.Errorf("CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return cfg, fmt.Errorf("CA %s: no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	cfg.TLS = tc
	if o.token != "" {
		cfg.Token, cfg.Device = o.token, o.device // the device for a token naming none (an identity provider's)
	} else {
		user, device := o.user, o.device
		if _, err := o.mint(user, device); err != nil {
			return cfg, err
		}
		cfg.TokenSource = func(context.Context) (string, error) { return o.mint(user, device) }
	}
	return cfg, nil
}

// connect dials the node; manualAck leaves the device cursor alone (every
// command but chat and sync --ack only looks).
func (o *clientOptions) connect(ctx context.Context, manualAck bool) (*client.Client, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	cfg.ManualAck = manualAck
	return client.Dial(ctx, cfg)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonMessage is how commands print a message.
type jsonMessage struct {
	Conv        string     `json:"conv"`
	Seq         uint64     `json:"seq"`
	MsgID       uint64     `json:"msg_id,string"` // above 2^53: a string, so JavaScript keeps every digit
	ClientMsgID string     `json:"client_msg_id,omitempty"`
	From        string     `json:"from"`
	Kind        string     `json:"kind"`
	Text        string     `json:"text"`
	RefSeq      uint64     `json:"ref_seq,omitempty"`
	ReplyTo     uint64     `json:"reply_to,omitempty"`
	Mentions    []string   `json:"mentions,omitempty"`
	MentionAll  bool       `json:"mention_all,omitempty"` // it mentions everyone but its sender ("@all")
	Media       *jsonMedia `json:"media,omitempty"`
	// Location: a place the message shares (Text is its caption).
	Location *jsonLocation `json:"location,omitempty"`
	// Meta: the app's own data about the message (send --meta).
	Meta       map[string]string `json:"meta,omitempty"`
	Recalled   bool              `json:"recalled,omitempty"`
	Expired    bool              `json:"expired,omitempty"` // the node's retention took its content
	Flagged    bool              `json:"flagged,omitempty"`
	Forwarded  bool              `json:"forwarded,omitempty"`  // a copy of another message
	AutoReply  bool              `json:"auto_reply,omitempty"` // posted by the node for its sender, who is away
	ServerTsMs int64             `json:"server_ts_ms"`
	State      string            `json:"state,omitempty"`
	// Reactions: emoji → the members who chose it.
	Reactions map[string][]string `json:"reactions,omitempty"`
	// RemindAtMs: a starred message's reminder (the starred list only).
	RemindAtMs int64 `json:"remind_at_ms,omitempty"`
}

func toJSONMessage(m client.Message) jsonMessage {
	return jsonMessage{Conv: m.Conv, Seq: m.Seq, MsgID: m.MsgID, ClientMsgID: m.ClientMsgID, From: m.Sender,
		Kind: strings.ToLower(m.Kind.String()), Text: string(m.Body), RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Mentions: m.Mentions, MentionAll: m.MentionAll, Recalled: m.Recalled,
		Expired: m.Expired, Flagged: m.Flagged, Forwarded: m.Forwarded, AutoReply: m.AutoReply, ServerTsMs: millis(m.ServerTime), Reactions: reactionMap(m.Reactions), Media: toJSONMedia(m.Media),
		Location: toJSONLocation(m.Location), Meta: m.Meta}
}

// jsonLocation is a shared place as commands print it.
type jsonLocation struct {
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Name string  `json:"name,omitempty"`
}

func toJSONLocation(l *wirepb.Location) *jsonLocation {
	if l == nil {
		return nil
	}
	return &jsonLocation{Lat: l.Lat, Lng: l.Lng, Name: l.Name}
}

func reactionMap(rs []client.Reaction) map[string][]string {
	if len(rs) == 0 {
		return nil
	}
	out := make(map[string][]string, len(rs))
	for _, r := range rs {
		out[r.Emoji] = r.Users
	}
	return out
}

func wireToJSONMessage(m *wirepb.Message) *jsonMessage {
	if m == nil {
		return nil
	}
	j := toJSONMessage(client.Message{Conv: m.Conv, Seq: m.Seq, MsgID: m.MsgId, ClientMsgID: m.ClientMsgId, Sender: m.Sender,
		Kind: m.Kind, Body: m.Body, RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Mentions: m.Mentions, MentionAll: m.MentionAll, Recalled: m.Recalled, Expired: m.Expired, Flagged: m.Flagged, Forwarded: m.Forwarded, AutoReply: m.AutoReply,
		Location: m.Location, Meta: m.Meta})
	j.ServerTsMs = m.ServerTsMs
	return &j
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// jsonSummary is how commands print a conversation summary.
type jsonSummary struct {
	Conv           string       `json:"conv"`
	Kind           string       `json:"kind"`
	Title          string       `json:"title,omitempty"`
	LastSeq        uint64       `json:"last_seq"`
	Unread         uint64       `json:"unread"`
	UnreadMentions uint64       `json:"unread_mentions,omitempty"`
	ReadSeq        uint64       `json:"read_seq"`
	Pinned         bool         `json:"pinned,omitempty"`
	Muted          bool         `json:"muted,omitempty"`
	MutedUntilMs   int64        `json:"muted_until_ms,omitempty"`
	Archived       bool         `json:"archived,omitempty"`
	ArchivedUntil  int64        `json:"archived_until_ms,omitempty"`
	MarkedUnread   bool         `json:"marked_unread,omitempty"`
	Labels         []string     `json:"labels,omitempty"`
	Member         bool         `json:"member"`
	LastActivityMs int64        `json:"last_activity_ms,omitempty"`
	LastMessage    *jsonMessage `json:"last_message,omitempty"`
	Frozen         *jsonFrozen  `json:"frozen,omitempty"`
	// Meta: the app's own data about the conversation (switchboard meta).
	Meta map[string]string `json:"meta,omitempty"`
}

// jsonFrozen is a conversation's freeze (switchboard freeze).
type jsonFrozen struct {
	Reason  string `json:"reason,omitempty"`
	By      string `json:"by"`
	AtMs    int64  `json:"at_ms"`
	UntilMs int64  `json:"until_ms,omitempty"` // a cool-down: open again then
}

func toJSONFrozen(f *wirepb.Frozen) *jsonFrozen {
	if f == nil {
		return nil
	}
	return &jsonFrozen{Reason: f.Reason, By: f.By, AtMs: f.AtMs, UntilMs: f.UntilMs}
}

func toJSONSummary(s *wirepb.ConvSummary) jsonSummary {
	return jsonSummary{Conv: s.Conv, Kind: strings.ToLower(s.Kind.String()), Title: s.Title, LastSeq: s.LastSeq, Unread: s.Unread, UnreadMentions: s.UnreadMentions, ReadSeq: s.ReadSeq,
		Pinned: s.Pinned, Muted: s.Muted, MutedUntilMs: s.MutedUntilMs, Archived: s.Archived, ArchivedUntil: s.ArchivedUntilMs, MarkedUnread: s.MarkedUnread, Labels: s.Labels, Member: s.Member, LastActivityMs: s.LastActivityMs, LastMessage: wireToJSONMessage(s.LastMessage),
		Frozen: toJSONFrozen(s.Frozen), Meta: s.Meta}
}

// withTimeout bounds a command.
func (o *clientOptions) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, o.timeout)
}

// withClient runs f with a connected, look-only client.
func withClient(cmd *cobra.Command, o *clientOptions, f func(context.Context, *client.Client) error) error {
	ctx, cancel := o.withTimeout(cmd.Context())
	defer cancel()
	c, err := o.connect(ctx, true)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(ctx, c)
}

// jsonMedia is a message's attached file (download saves it).
type jsonMedia struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	// A picture's size in pixels, when its sender gave it (the preview
	// image itself is left out of the CLI's output).
	Width  uint32 `json:"width,omitempty"`
	Height uint32 `json:"height,omitempty"`
}

func toJSONMedia(r *wirepb.MediaRef) *jsonMedia {
	if r == nil {
		return nil
	}
	return &jsonMedia{ID: r.Id, Name: r.Name, Type: r.Mime, Size: r.Size, Width: r.Width, Height: r.Height}
}
