package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/storage"
)

// kafkaOptions are serve's export flags.
type kafkaOptions struct {
	brokers           []string
	format            string
	webhookSecretFile string
	cfg               export.Config
}

func (k *kafkaOptions) register(f *pflag.FlagSet) {
	d := export.DefaultConfig()
	f.StringSliceVar(&k.brokers, "kafka-brokers", nil, "export durable messages and events to these Kafka brokers (host:port); off when empty")
	f.StringVar(&k.format, "kafka-format", "json", "record format on the export topics: json, or protobuf (export/exportpb/records.proto)")
	f.IntVar(&k.cfg.MaxBuffered, "kafka-max-buffered", d.MaxBuffered, "export: records waiting for Kafka's acknowledgement past which the log is not read further (the log is the spill)")
	f.DurationVar(&k.cfg.CheckpointInterval, "kafka-checkpoint-interval", d.CheckpointInterval, "export: how often the acknowledged position is saved (the most a crash re-exports)")
	f.DurationVar(&k.cfg.FlushInterval, "kafka-flush-interval", d.FlushInterval, "export: how often conversations with new messages are read")
	f.StringVar(&k.cfg.WebhookURL, "export-webhook-url", "", "export the same records by HTTP POST to this URL instead of Kafka (signed batches of JSON records)")
	f.StringVar(&k.webhookSecretFile, "export-webhook-secret-file", "", "file holding the HMAC-SHA256 secret of the export webhook, at least 16 bytes (else SWITCHBOARD_EXPORT_WEBHOOK_SECRET)")
	f.IntVar(&k.cfg.WebhookLanes, "export-webhook-lanes", d.WebhookLanes, "export webhook: POSTs in flight at once (one conversation's records always share one, in order)")
	f.IntVar(&k.cfg.WebhookBatch, "export-webhook-batch", d.WebhookBatch, "export webhook: most records in one POST")
	f.DurationVar(&k.cfg.WebhookTimeout, "export-webhook-timeout", d.WebhookTimeout, "export webhook: one POST times out after this and is retried")
}

func (k *kafkaOptions) config() (export.Config, error) {
	format, err := export.ParseFormat(k.format)
	if err != nil {
		return export.Config{}, fmt.Errorf("--kafka-format: %w", err)
	}
	c := k.cfg
	c.Format = format
	c.Brokers = k.brokers
	if c.WebhookURL != "" {
		if c.WebhookSecret, err = webhookSecret("export", k.webhookSecretFile); err != nil {
			return c, err
		}
	}
	return c.WithDefaults()
}

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Kafka export tools"}
	cmd.AddCommand(newExportReplayCmd())
	return cmd
}

func newExportReplayCmd() *cobra.Command {
	var o serveOptions
	var brokers []string
	var from, to, format string
	cmd := &cobra.Command{
		Use:   "replay --from TIME [--to TIME] --kafka-brokers host:port",
		Short: "Re-publish stored messages of a time range to the export topics",
		Long: `Re-publish every stored message whose server time is in [--from, --to) to
switchboard.messages (and its recall, membership and desk events to switchboard.events),
with the same records and event ids as the live export: consumers that dedupe
on event_id see no duplicates. Reads the store directly: with --store pebble
the node must be stopped (the store is locked while it runs); with --store cql
it may run. TIME is RFC 3339 (2026-05-01T10:00:00Z) or a duration ago (2h).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd.Flags()); err != nil {
				return err
			}
			if len(brokers) == 0 {
				return fmt.Errorf("--kafka-brokers is required")
			}
			rf, err := export.ParseFormat(format)
			if err != nil {
				return fmt.Errorf("--kafka-format: %w", err)
			}
			now := time.Now()
			f, err := parseReplayTime(from, now)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			var t time.Time
			if to != "" {
				if t, err = parseReplayTime(to, now); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
			}
			o.tuning.actors.MaxBodyBytes = storage.DefaultLimits().MaxBodyBytes
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			store, err := openStore(ctx, o, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
			if err != nil {
				return err
			}
			defer store.Close()
			cl, err := export.NewClient(export.Config{Brokers: brokers, ClientID: "switchboard-replay"})
			if err != nil {
				return err
			}
			defer cl.Close()
			n, err := export.ReplayFormat(ctx, store, cl, rf, f, t, 500)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "re-published %d messages\n", n)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "start of the range (RFC 3339 or a duration ago)")
	fl.StringVar(&to, "to", "", "end of the range, exclusive (default: now and later)")
	fl.StringSliceVar(&brokers, "kafka-brokers", nil, "Kafka brokers (host:port)")
	fl.StringVar(&format, "kafka-format", "json", "record format, as the node's --kafka-format: json or protobuf")
	fl.StringVar(&o.store, "store", "pebble", "storage backend: pebble or cql")
	fl.StringVar(&o.dataDir, "data-dir", "./data", "the node's data directory (pebble)")
	fl.StringSliceVar(&o.cqlHosts, "cql-hosts", []string{"127.0.0.1:9042"}, "CQL contact points")
	fl.StringVar(&o.cqlKeyspace, "cql-keyspace", "switchboard", "CQL keyspace")
	fl.DurationVar(&o.cqlStartTimeout, "cql-start-timeout", 10*time.Second, "how long to retry opening the CQL store")
	fl.StringVar(&o.storeVerify, "store-verify", "files", "embedded store checks at open")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

func parseReplayTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a positive duration", s)
	}
	return now.Add(-d), nil
}
