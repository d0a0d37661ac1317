package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/transport/client"
)

// pushFlags are serve's offline push flags: which gateways, and the
// dispatcher's limits (docs/OPERATIONS.md, "Offline push").
type pushFlags struct {
	cfg actors.PushConfig

	webhookURL, webhookSecretFile string
	apnsURL, apnsKeyFile          string
	apnsKeyID, apnsTeamID, topic  string
	fcmURL, fcmProject, fcmToken  string
	localized, fcmCallsAsData     bool

	reminders                                     actors.ReminderConfig
	reminderWebhookURL, reminderWebhookSecretFile string
}

func (p *pushFlags) register(f *pflag.FlagSet) {
	f.StringVar(&p.webhookURL, "push-webhook-url", "", "offline push: POST signed notifications to this relay (for tokens of every platform without a gateway of its own); off when no gateway is set")
	f.StringVar(&p.webhookSecretFile, "push-webhook-secret-file", "", "file holding the HMAC-SHA256 secret of the push webhook (else SWITCHBOARD_PUSH_WEBHOOK_SECRET)")
	f.StringVar(&p.apnsKeyFile, "push-apns-key-file", "", "APNs token auth: the .p8 signing key (PEM, PKCS#8); sets APNs on for apns tokens")
	f.StringVar(&p.apnsKeyID, "push-apns-key-id", "", "APNs token auth: the key id")
	f.StringVar(&p.apnsTeamID, "push-apns-team-id", "", "APNs token auth: the team id")
	f.StringVar(&p.topic, "push-apns-topic", "", "APNs: the app's bundle id")
	f.StringVar(&p.apnsURL, "push-apns-url", "https://api.push.apple.com", "APNs provider API base URL (the sandbox: https://api.sandbox.push.apple.com)")
	f.StringVar(&p.fcmProject, "push-fcm-project", "", "FCM HTTP v1: the Firebase project id; sets FCM on for fcm tokens")
	f.BoolVar(&p.fcmCallsAsData, "push-fcm-calls-as-data", false, "FCM: a ringing call goes to Android as a high-priority data message, for the app to ring with its own call screen (the app must handle it: docs/OPERATIONS.md)")
	f.StringVar(&p.fcmToken, "push-fcm-token-file", "", "FCM HTTP v1: file holding an OAuth2 access token, read again before every send (kept fresh by the deployment)")
	f.StringVar(&p.fcmURL, "push-fcm-url", "https://fcm.googleapis.com", "FCM API base URL")
	f.BoolVar(&p.localized, "push-localized", false, "APNs and FCM: send the node's own words (\"Missed call\", \"3 new messages\") as keys of the app's strings, for each phone to show in its language (the app must ship them: docs/OPERATIONS.md lists the keys)")
	f.DurationVar(&p.cfg.Coalesce, "push-coalesce", actors.DefaultPushCoalesce, "messages of one conversation within this interval make one notification with a count")
	f.IntVar(&p.cfg.PreviewBytes, "push-preview-bytes", actors.DefaultPushPreviewBytes, "most bytes of message text a notification carries (negative: none)")
	f.IntVar(&p.cfg.MaxAttempts, "push-max-attempts", push.DefaultMaxAttempts, "gateway attempts per notification before it is dead-lettered")
	f.DurationVar(&p.cfg.BaseBackoff, "push-backoff", push.DefaultBaseBackoff, "first wait between push attempts, doubled each time (jittered)")
	f.DurationVar(&p.cfg.MaxBackoff, "push-max-backoff", push.DefaultMaxBackoff, "longest wait between push attempts")
	f.DurationVar(&p.cfg.AttemptTimeout, "push-timeout", push.DefaultAttemptTimeout, "one gateway call times out after this")
	f.IntVar(&p.cfg.QueueSize, "push-queue", push.DefaultQueueSize, "notifications waiting for a sender; past it new ones are dropped (counted)")
	f.IntVar(&p.cfg.Workers, "push-workers", push.DefaultWorkers, "concurrent gateway sends")
	f.DurationVar(&p.reminders.After, "unread-reminder-after", 0, "a message from someone else still unread this long, with none of the user's devices online, makes one reminder for its conversation, posted to --unread-reminder-webhook-url (0: off)")
	f.StringVar(&p.reminderWebhookURL, "unread-reminder-webhook-url", "", "unread reminders: POST them, signed, to this URL (your servers mail or text the user)")
	f.StringVar(&p.reminderWebhookSecretFile, "unread-reminder-webhook-secret-file", "", "file holding the HMAC-SHA256 secret of the unread reminder webhook (else SWITCHBOARD_UNREAD_REMINDER_WEBHOOK_SECRET)")
	f.IntVar(&p.reminders.QueueSize, "unread-reminder-queue", actors.DefaultReminderQueue, "reminders due and waiting for a sender; past it one is dropped (counted)")
	f.IntVar(&p.reminders.MaxPending, "unread-reminder-max-pending", actors.DefaultReminderMaxPending, "most conversations with a reminder scheduled, or sent and not read since; at it the older half of those reminded is forgotten, and with only scheduled ones a new one is dropped (counted)")
}

// reminderConfig builds the unread reminders' configuration; off without
// --unread-reminder-after.
func (p *pushFlags) reminderConfig() (actors.ReminderConfig, error) {
	cfg := p.reminders
	switch {
	case cfg.After < 0 || cfg.MaxPending <= 0 || cfg.QueueSize <= 0:
		return cfg, fmt.Errorf("--unread-reminder-after %v, --unread-reminder-max-pending %d, --unread-reminder-queue %d: want ≥ 0 and > 0 (the bounds)", cfg.After, cfg.MaxPending, cfg.QueueSize)
	case cfg.After == 0 && p.reminderWebhookURL != "":
		return cfg, errors.New("--unread-reminder-webhook-url needs --unread-reminder-after")
	case cfg.After == 0:
		return cfg, nil
	case p.reminderWebhookURL == "":
		return cfg, errors.New("--unread-reminder-after needs --unread-reminder-webhook-url")
	}
	secret, err := webhookSecret("unread-reminder", p.reminderWebhookSecretFile)
	if err != nil {
		return cfg, err
	}
	cfg.PreviewBytes = p.cfg.PreviewBytes
	cfg.Gateway = &push.Webhook{URL: p.reminderWebhookURL, Secret: secret, Client: &http.Client{Timeout: p.cfg.AttemptTimeout},
		MaxAttempts: p.cfg.MaxAttempts, BaseBackoff: p.cfg.BaseBackoff, MaxBackoff: p.cfg.MaxBackoff}
	return cfg, nil
}

// config builds the gateways the flags name; none: push is off.
func (p *pushFlags) config() (actors.PushConfig, error) {
	cfg := p.cfg
	cfg.Gateways = map[string]push.Gateway{}
	for name, v := range map[string]int{"--push-max-attempts": cfg.MaxAttempts, "--push-queue": cfg.QueueSize, "--push-workers": cfg.Workers} {
		if v <= 0 {
			return cfg, fmt.Errorf("%s %d: must be positive", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"--push-coalesce": cfg.Coalesce, "--push-backoff": cfg.BaseBackoff,
		"--push-max-backoff": cfg.MaxBackoff, "--push-timeout": cfg.AttemptTimeout} {
		if v <= 0 {
			return cfg, fmt.Errorf("%s %s: must be positive", name, v)
		}
	}
	client := func() *http.Client {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ForceAttemptHTTP2 = true // APNs speaks HTTP/2 only
		return &http.Client{Transport: tr, Timeout: cfg.AttemptTimeout}
	}
	if p.webhookURL != "" {
		secret, err := webhookSecret("push", p.webhookSecretFile)
		if err != nil {
			return cfg, err
		}
		// One post per attempt: the dispatcher owns retries and dead letters.
		cfg.Default = &push.Webhook{URL: p.webhookURL, Secret: secret, Client: client(), MaxAttempts: 1}
	}
	if p.fcmCallsAsData && p.fcmProject == "" {
		return cfg, errors.New("--push-fcm-calls-as-data needs --push-fcm-project")
	}
	if p.localized && p.apnsKeyFile == "" && p.fcmProject == "" {
		// The relay always gets the keys; only the platforms are told.
		return cfg, errors.New("--push-localized needs --push-apns-key-file or --push-fcm-project")
	}
	if p.apnsKeyFile != "" {
		if p.apnsKeyID == "" || p.apnsTeamID == "" || p.topic == "" {
			return cfg, errors.New("--push-apns-key-file needs --push-apns-key-id, --push-apns-team-id and --push-apns-topic")
		}
		key, err := readP8(p.apnsKeyFile)
		if err != nil {
			return cfg, fmt.Errorf("--push-apns-key-file: %w", err)
		}
		apns := &push.APNs{BaseURL: strings.TrimRight(p.apnsURL, "/"), Topic: p.topic, TeamID: p.apnsTeamID, KeyID: p.apnsKeyID, Key: key, Client: client(), Localized: p.localized}
		// The same key signs PushKit pushes: a device that registered a
		// VoIP token rings for calls as a call.
		cfg.Gateways["apns"], cfg.Gateways[push.PlatformVoIP] = apns, apns.VoIP()
	}
	if p.fcmProject != "" {
		if p.fcmToken == "" {
			return cfg, errors.New("--push-fcm-project needs --push-fcm-token-file")
		}
		file := p.fcmToken
		cfg.Gateways["fcm"] = &push.FCM{BaseURL: strings.TrimRight(p.fcmURL, "/"), Project: p.fcmProject, Client: client(), Localized: p.localized,
			CallsAsData: p.fcmCallsAsData,
			TokenSource: func(context.Context) (string, error) {
				b, err := os.ReadFile(file)
				if err != nil {
					return "", err
				}
				return strings.TrimSpace(string(b)), nil
			}}
	}
	return cfg, nil
}

// readP8 reads an APNs signing key: PEM, PKCS#8, P-256.
func readP8(file string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, want ECDSA P-256", k)
	}
	return ek, nil
}

func newPushCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "push", Short: "Offline push: register or remove a device's push token"}
	var o clientOptions
	var platform, token, voipToken string
	reg := &cobra.Command{
		Use:     "register",
		Short:   "Store the device's push token (apns, fcm or webhook); the device is notified while the user has none connected",
		Example: `  switchboard push register --data-dir D --user bob --platform apns --push-token 9f2c…`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := o.withTimeout(cmd.Context())
			defer cancel()
			c, err := o.connect(ctx, false)
			if err != nil {
				return err
			}
			defer c.Close()
			return c.RegisterPush(ctx, platform, token, client.WithVoIPToken(voipToken))
		},
	}
	o.register(reg.Flags())
	reg.Flags().StringVar(&platform, "platform", "", "apns, fcm or webhook")
	reg.Flags().StringVar(&token, "push-token", "", "the platform's device token")
	reg.Flags().StringVar(&voipToken, "voip-token", "", "with apns: the app's PushKit token; calls ring it as VoIP pushes")
	_ = reg.MarkFlagRequired("platform")
	_ = reg.MarkFlagRequired("push-token")
	var uo clientOptions
	unreg := &cobra.Command{
		Use:   "unregister",
		Short: "Remove the device's push token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := uo.withTimeout(cmd.Context())
			defer cancel()
			c, err := uo.connect(ctx, false)
			if err != nil {
				return err
			}
			defer c.Close()
			return c.UnregisterPush(ctx)
		},
	}
	uo.register(unreg.Flags())
	cmd.AddCommand(reg, unreg)
	return cmd
}
