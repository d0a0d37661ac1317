package cql

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"
)

// Versioned schema files, applied in name order and recorded in
// schema_migrations. A released file must never change: add a new one.
//
//go:embed schema/*.cql
var schemaFS embed.FS

const (
	createMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    checksum   text,
    applied_at timestamp
)`
	// One row leased with a TTL, so that two processes opening a new
	// keyspace do not run the same DDL at once (concurrent CREATE TABLE of
	// one table on different coordinators can disagree on the table id).
	createSchemaLock = `CREATE TABLE IF NOT EXISTS schema_lock (
    name  text PRIMARY KEY,
    owner text
)`
	lockTTL = 120 * time.Second
)

type migration struct {
	version, checksum string
	stmts             []string
}

// migrations reads the embedded schema files.
func migrations() ([]migration, error) {
	names, err := fs.Glob(schemaFS, "schema/*.cql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]migration, 0, len(names))
	for _, name := range names {
		b, err := schemaFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		stmts := splitStatements(string(b))
		if len(stmts) == 0 {
			return nil, fmt.Errorf("cql: schema file %s holds no statement", name)
		}
		out = append(out, migration{
			version:  strings.TrimSuffix(strings.TrimPrefix(name, "schema/"), ".cql"),
			checksum: hex.EncodeToString(sum[:]),
			stmts:    stmts,
		})
	}
	return out, nil
}

// splitStatements drops "--" comment lines and splits on ";" at line ends.
// Schema files keep to that shape; no statement holds a ";" literal.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(line, ";") {
			s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, s)
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// migrate applies the schema files not yet recorded in the keyspace.
func migrate(ctx context.Context, s gocqlx.Session, cfg Config) error {
	all, err := migrations()
	if err != nil {
		return fmt.Errorf("cql: read schema files: %w", err)
	}
	for _, ddl := range []string{createMigrations, createSchemaLock} {
		if err := s.ContextQuery(ctx, ddl, nil).ExecRelease(); err != nil {
			return fmt.Errorf("cql: create schema bookkeeping: %w", err)
		}
	}
	if err := s.AwaitSchemaAgreement(ctx); err != nil {
		return fmt.Errorf("cql: schema agreement: %w", err)
	}
	pending, err := pendingMigrations(ctx, s, all)
	if err != nil || len(pending) == 0 {
		return err
	}

	owner := gocql.TimeUUID().String()
	if err := acquireSchemaLock(ctx, s, cfg, owner); err != nil {
		return err
	}
	defer releaseSchemaLock(s, cfg, owner)

	// Another process may have applied some while we waited for the lock.
	if pending, err = pendingMigrations(ctx, s, all); err != nil {
		return err
	}
	for _, m := range pending {
		for i, stmt := range m.stmts {
			if err := s.ContextQuery(ctx, stmt, nil).ExecRelease(); err != nil {
				return fmt.Errorf("cql: schema %s statement %d: %w", m.version, i+1, err)
			}
		}
		if err := s.AwaitSchemaAgreement(ctx); err != nil {
			return fmt.Errorf("cql: schema agreement after %s: %w", m.version, err)
		}
		err := s.ContextQuery(ctx,
			`INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)`, nil).
			Bind(m.version, m.checksum, time.Now()).ExecRelease()
		if err != nil {
			return fmt.Errorf("cql: record schema %s: %w", m.version, err)
		}
		cfg.Logger.InfoContext(ctx, "cql schema applied", "keyspace", cfg.Keyspace, "version", m.version)
	}
	return nil
}

// pendingMigrations returns the files not yet applied, after checking the
// applied ones are unchanged.
func pendingMigrations(ctx context.Context, s gocqlx.Session, all []migration) ([]migration, error) {
	applied := map[string]string{}
	iter := s.ContextQuery(ctx, `SELECT version, checksum FROM schema_migrations`, nil).
		Consistency(gocql.Quorum).Iter()
	var v, sum string
	for iter.Scan(&v, &sum) {
		applied[v] = sum
	}
	if err := iter.Close(); err != nil {
		return nil, fmt.Errorf("cql: read schema_migrations: %w", err)
	}
	var pending []migration
	for _, m := range all {
		sum, ok := applied[m.version]
		switch {
		case !ok:
			pending = append(pending, m)
		case sum != m.checksum:
			return nil, fmt.Errorf("cql: schema %s was applied with checksum %s, the file now has %s", m.version, sum, m.checksum)
		}
	}
	return pending, nil
}

func acquireSchemaLock(ctx context.Context, s gocqlx.Session, cfg Config, owner string) error {
	q := fmt.Sprintf(`INSERT INTO schema_lock (name, owner) VALUES ('schema', ?) IF NOT EXISTS USING TTL %d`, int(lockTTL.Seconds()))
	for {
		applied, err := s.ContextQuery(ctx, q, nil).Bind(owner).
			SerialConsistency(cfg.SerialConsistency).ExecCASRelease()
		if err != nil {
			return fmt.Errorf("cql: take schema lock: %w", err)
		}
		if applied {
			return nil
		}
		cfg.Logger.InfoContext(ctx, "cql schema lock held by another process; waiting", "keyspace", cfg.Keyspace)
		select {
		case <-ctx.Done():
			return fmt.Errorf("cql: wait for schema lock: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func releaseSchemaLock(s gocqlx.Session, cfg Config, owner string) {
	// Released even when the caller's ctx ended; the TTL covers failures.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	_, err := s.ContextQuery(ctx, `DELETE FROM schema_lock WHERE name = 'schema' IF owner = ?`, nil).
		Bind(owner).SerialConsistency(cfg.SerialConsistency).ExecCASRelease()
	if err != nil && !errors.Is(err, context.Canceled) {
		cfg.Logger.Warn("cql: release schema lock", "keyspace", cfg.Keyspace, "err", err)
	}
}
