package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/cql"
	"github.com/switchboard-im/switchboard/storage/pebble"
)

type serveOptions struct {
	dataDir     string
	admin       string
	store       string
	cqlHosts    []string
	cqlKeyspace string
	dev         bool
	logJSON     bool
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a node",
		Long: `Run a Switchboard node. Every flag can also be set with an environment
variable SWITCHBOARD_<FLAG> (upper case, dashes as underscores), e.g.
SWITCHBOARD_DATA_DIR=/var/lib/switchboard.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd.Flags()); err != nil {
				return err
			}
			return runServe(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "./data", "directory for the embedded store and dev credentials")
	f.StringVar(&o.admin, "admin", "127.0.0.1:8080", "admin HTTP address (/metrics, /healthz)")
	f.StringVar(&o.store, "store", "pebble", "storage backend: pebble (embedded) or cql (ScyllaDB/Cassandra)")
	f.StringSliceVar(&o.cqlHosts, "cql-hosts", []string{"127.0.0.1:9042"}, "CQL contact points (host:port)")
	f.StringVar(&o.cqlKeyspace, "cql-keyspace", "switchboard", "CQL keyspace")
	f.BoolVar(&o.dev, "dev", false, "development mode: zero configuration, everything local")
	f.BoolVar(&o.logJSON, "log-json", false, "log as JSON lines")
	return cmd
}

// flagsFromEnv sets every flag not given on the command line from
// SWITCHBOARD_<FLAG>.
func flagsFromEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		env := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	return errors.Join(errs...)
}

func runServe(ctx context.Context, o serveOptions) error {
	var handler slog.Handler = slog.NewTextHandler(os.Stderr, nil)
	if o.logJSON {
		handler = slog.NewJSONHandler(os.Stderr, nil)
	}
	log := slog.New(handler)
	slog.SetDefault(log)

	store, err := openStore(ctx, o, log)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", o.admin)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", o.admin, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("node started", "store", o.store, "data_dir", o.dataDir, "admin", ln.Addr().String())

	<-ctx.Done()
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func openStore(ctx context.Context, o serveOptions, log *slog.Logger) (storage.Store, error) {
	switch o.store {
	case "pebble":
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		cfg := pebble.DefaultConfig(o.dataDir + "/store")
		cfg.Logger = log
		return pebble.Open(cfg)
	case "cql":
		cfg := cql.DefaultConfig()
		cfg.Hosts = o.cqlHosts
		cfg.Keyspace = o.cqlKeyspace
		return cql.Open(ctx, cfg)
	}
	return nil, fmt.Errorf("unknown store %q (want pebble or cql)", o.store)
}
