package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/storage"
)

// Offline push: a user grain that receives a message while none of the
// user's devices is connected hands it to the node's coalescer; the
// coalesced notification goes to a push.Dispatcher, whose own goroutines
// look up the user's push tokens and call the gateway. The grain never
// waits on either.

// PushConfig turns offline push on (a gateway set) and names its limits;
// zero limits take the push package's defaults.
type PushConfig struct {
	// Gateways by token platform ("apns", "fcm", "webhook"); Default
	// serves the platforms without one (a webhook relay).
	Gateways map[string]push.Gateway
	Default  push.Gateway
	// Coalesce: the messages of one conversation within this interval
	// make one notification with a count (default 2 s).
	Coalesce time.Duration
	// PreviewBytes bounds the message text carried as the preview
	// (default 120; negative: never carry text).
	PreviewBytes int
	// MaxAttempts, BaseBackoff, MaxBackoff, AttemptTimeout, QueueSize,
	// Workers: see push.Dispatcher.
	MaxAttempts    int
	BaseBackoff    time.Duration
	MaxBackoff     time.Duration
	AttemptTimeout time.Duration
	QueueSize      int
	Workers        int
	// DeadLetter, if set, also receives each notification given up on.
	DeadLetter func(push.Notification, error)
}

// Defaults of PushConfig.
const (
	DefaultPushCoalesce     = 2 * time.Second
	DefaultPushPreviewBytes = 120
)

// Enabled reports whether a gateway is configured.
func (c PushConfig) Enabled() bool { return c.Default != nil || len(c.Gateways) > 0 }

// offlinePush is the node's coalescer and senders.
type offlinePush struct {
	preview int
	co      *push.Coalescer
	d       *push.Dispatcher
}

// startPush starts offline push if configured; nil when it is off.
// Its notifications name their senders through rt's display names (the
// desk views' cache: a name may be 30 s old), and their groups.
func startPush(cfg Config, store storage.Store, rt *Runtime) (*offlinePush, error) {
	pc := cfg.Push
	if !pc.Enabled() {
		return nil, nil
	}
	if pc.Coalesce <= 0 {
		pc.Coalesce = DefaultPushCoalesce
	}
	if pc.PreviewBytes == 0 {
		pc.PreviewBytes = DefaultPushPreviewBytes
	}
	d := &push.Dispatcher{Tokens: store, Gateways: pc.Gateways, Default: pc.Default, MaxAttempts: pc.MaxAttempts,
		BaseBackoff: pc.BaseBackoff, MaxBackoff: pc.MaxBackoff, AttemptTimeout: pc.AttemptTimeout,
		QueueSize: pc.QueueSize, Workers: pc.Workers, Log: cfg.Logger.With("component", "push"), DeadLetter: pc.DeadLetter,
		SenderName: func(ctx context.Context, user string) (string, error) { return rt.DisplayNames(ctx, user)[user], nil },
		ConvTitle:  func(ctx context.Context, conv string) (string, error) { return groupTitle(ctx, store, conv) }}
	if err := d.Start(); err != nil {
		return nil, err
	}
	p := &offlinePush{preview: pc.PreviewBytes, d: d}
	p.co = &push.Coalescer{Interval: pc.Coalesce, Flush: func(n push.Notification) { d.Enqueue(n) }}
	return p, nil
}

func (p *offlinePush) stop() {
	if p != nil {
		p.co.Stop()
		p.d.Stop()
	}
}

// offlinePush is the user grain's hook, called for each Deliver: recalls
// take their message out of a pending notification; messages from others
// the user has not read, in a conversation it did not mute, are queued
// for a notification while no device of the user is online, and the user
// is not suspended (its phone would be told of messages it cannot read)
// nor in their quiet hours (user_quiet.go).
func (u *user) offlinePush(conv string, uc *userConv, msgs []*pb.Message) {
	p := u.rt.push
	if p == nil {
		return
	}
	online := u.online()
	badge := -1 // the total unread, counted once per Deliver and only if needed
	for _, m := range msgs {
		switch {
		case m.Kind == pb.MessageKind_RECALL:
			p.co.Recall(u.id, conv, m.RefSeq)
		case online || uc.mutedNow() && !mentions(m, u.id) || m.Recalled || m.Sender == u.id || m.Seq <= uc.readSeq || !uc.member.Sees(m.Seq):
		case m.Kind == pb.MessageKind_NORMAL && m.RefSeq != 0: // an edit notifies nobody
		case u.suspendedForPush() || u.quietNow():
		case m.Kind == pb.MessageKind_NORMAL || m.Kind == pb.MessageKind_CARD || m.Kind == pb.MessageKind_POLL && m.RefSeq == 0 || missedCall(m, u.id).Key != "":
			text, words := messagePreview(m, p.preview)
			switch missed := missedCall(m, u.id); {
			case missed.Key != "":
				text, words = missed.English(), missed // the same with previews hidden: it holds no content
			case u.hidesPreviews():
				text, words = "", push.Words{} // "N new messages", from whom, where
			}
			if badge < 0 {
				badge = int(u.totalUnread())
			}
			p.co.Add(push.Message{User: u.id, Conv: conv, Seq: m.Seq, From: m.Sender, Text: text, Words: words, Badge: badge, ExpiresAtMs: m.ExpiresAtMs})
		}
	}
}

// joinRequestPush notifies a manager with no device online of m's new
// request to join: "Sam · Year 7: asks to join: I'm Sam's father" (the
// note carried as a message's text is, within the preview bound). One
// request is one notification, never coalesced with messages.
func (u *user) joinRequestPush(m *pb.ListChanged) {
	p := u.rt.push
	if p == nil || u.online() || u.suspendedForPush() || u.quietNow() {
		return
	}
	words := push.Say(push.KeyJoinRequest)
	if note := previewText([]byte(m.Text), p.preview); note != "" && !u.hidesPreviews() {
		words = push.Say(push.KeyJoinRequestNote, note)
	}
	n := push.Notification{ID: fmt.Sprintf("join:%s:%s:%d", m.Conv, m.From, m.AtMs), Kind: push.KindJoinRequest,
		User: u.id, Conv: m.Conv, From: m.From, Badge: int(u.totalUnread())}
	n.Say(words)
	p.d.Enqueue(n)
}

// ringPush wakes the phones of a user with no device online for a call
// ringing in m.Call.Conv, unless they are suspended or in their quiet
// hours. The gateways drop it once the call stopped ringing (UntilMs).
func (u *user) ringPush(m *pb.RingOffline) {
	p := u.rt.push
	if m.Ended {
		u.stopRingPush(m)
		return
	}
	if p == nil || m.Call == nil || u.online() || u.suspendedForPush() || u.quietNow() {
		return
	}
	words := push.Say(push.KeyIncomingCall)
	if m.Call.Video {
		words = push.Say(push.KeyIncomingVideoCall)
	}
	n := push.Notification{ID: "call:" + m.Call.Conv + ":" + m.Call.Id, Kind: push.KindCall, User: u.id,
		Conv: m.Call.Conv, From: m.Call.Caller, Badge: int(u.totalUnread()), ExpiresAtMs: m.UntilMs, CallID: m.Call.Id, Video: m.Call.Video}
	n.Say(words)
	p.d.Enqueue(n)
}

// stopRingPush tells the phones that a call rang by push that it stopped
// ringing (m.Ended), whether a device of the user is online now or not:
// it may be the tablet that answered while the phone rang. Not once the
// ring is over (the app stops by itself at expires_at_ms), nor where
// ringPush sent nothing (suspended, quiet hours).
func (u *user) stopRingPush(m *pb.RingOffline) {
	p := u.rt.push
	if p == nil || m.Call == nil || !u.rt.cfg.Now().Before(time.UnixMilli(m.UntilMs)) || u.suspendedForPush() || u.quietNow() {
		return
	}
	n := push.Notification{ID: "call_ended:" + m.Call.Conv + ":" + m.Call.Id, Kind: push.KindCallEnded, User: u.id,
		Conv: m.Call.Conv, From: m.Call.Caller, ExpiresAtMs: m.UntilMs, CallID: m.Call.Id, Video: m.Call.Video, Outcome: m.Outcome}
	p.d.Enqueue(n)
}

// missedCall is the notification words of a system message recording a
// call to user that nobody answered (none, an empty Key, for any other
// message).
func missedCall(m *pb.Message, user string) push.Words {
	if m.Kind != pb.MessageKind_SYSTEM {
		return push.Words{} // a user's text is never read as a record
	}
	rec := unansweredCall(m.Body)
	if rec == nil || rec.Callee != user {
		return push.Words{}
	}
	if rec.Video {
		return push.Say(push.KeyMissedVideoCall)
	}
	return push.Say(push.KeyMissedCall)
}

// messagePreview is a message's notification preview, at most n bytes:
// a text's body; for a file sent without a caption the file's name,
// marked as a file; a poll's question, marked as a poll; nothing for a
// card. Where the preview is the node's words around what the user wrote
// (a file, a poll, a place), words keys them for the app to translate.
func messagePreview(m *pb.Message, n int) (text string, words push.Words) {
	switch {
	case m.Kind == pb.MessageKind_SYSTEM: // the node's JSON: no preview, but a missed call's words
		switch rec := unansweredCall(m.Body); {
		case rec == nil:
			return "", push.Words{}
		case rec.Video:
			return wordsPreview(n, push.KeyMissedVideoCall)
		default:
			return wordsPreview(n, push.KeyMissedCall)
		}
	case m.Kind == pb.MessageKind_CARD:
		return "", push.Words{}
	case m.Kind == pb.MessageKind_POLL:
		var p Poll
		if json.Unmarshal(m.Body, &p) != nil {
			return "", push.Words{}
		}
		return wordsPreview(n, push.KeyPoll, p.Question)
	case len(m.Body) == 0 && m.Media != nil:
		return wordsPreview(n, push.KeyFile, m.Media.Name)
	case len(m.Body) == 0 && m.Location != nil && m.Location.Name == "":
		return wordsPreview(n, push.KeyLocation)
	case len(m.Body) == 0 && m.Location != nil:
		return wordsPreview(n, push.KeyLocationNamed, m.Location.Name)
	}
	return previewText(m.Body, n), push.Words{}
}

// wordsPreview is the node's words of key around arg (what a user wrote,
// if any) in at most n bytes: arg is cut to what the words leave room
// for; words that do not fit at all are no preview.
func wordsPreview(n int, key string, arg ...string) (string, push.Words) {
	w := push.Say(key, arg...)
	full := w.English()
	if n < 0 || len(arg) == 0 && len(full) > n {
		return "", push.Words{}
	}
	if len(arg) == 1 && len(full) > n {
		room := n - (len(full) - len(arg[0]))
		if room < 0 {
			return "", push.Words{}
		}
		w = push.Say(key, string(cutUTF8([]byte(arg[0]), room)))
		full = w.English()
	}
	return full, w
}

// previewText cuts a message body to at most n bytes of whole UTF-8
// characters; n < 0 carries no text.
func previewText(body []byte, n int) string {
	if n < 0 || !utf8.Valid(body) {
		return ""
	}
	return string(cutUTF8(body, n))
}

// cutUTF8 returns the start of b, at most n bytes, cut where a character
// starts (a report's snapshot, a notification's preview).
func cutUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// RegisterPushToken stores device's push token (replacing its previous
// one): the device is notified while the user has no connected device;
// with voipToken (iOS), a call rings it as a VoIP push.
func (n *Runtime) RegisterPushToken(ctx context.Context, user, device, platform, token, voipToken string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	err := n.store.SetPushToken(ctx, storage.PushToken{UserID: user, DeviceID: device, Platform: platform, Token: token, VoIPToken: voipToken,
		UpdatedAt: time.Now()})
	if err != nil {
		return fromPB(storeErr(err))
	}
	return nil
}

// UnregisterPushToken removes device's push token, if any.
func (n *Runtime) UnregisterPushToken(ctx context.Context, user, device string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if err := n.store.DeletePushToken(ctx, user, device, ""); err != nil {
		return fromPB(storeErr(err))
	}
	return nil
}

func (s *deviceSession) RegisterPush(ctx context.Context, platform, token, voipToken string) error {
	return s.rt.RegisterPushToken(ctx, s.user, s.device, platform, token, voipToken)
}

func (s *deviceSession) UnregisterPush(ctx context.Context) error {
	return s.rt.UnregisterPushToken(ctx, s.user, s.device)
}
