package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// errDamaged makes `store check` exit non-zero after printing its report.
var errDamaged = errors.New("store damaged")

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Back up, restore, check or repair a node's embedded (Pebble) store; sweep expired messages",
		Long: `Back up the embedded store of a running node, and restore, check or repair
the store in <data-dir>/store while its node is stopped. Expire works on
either store.

  switchboard store backup [--admin URL]      a consistent copy, taken while the node serves
  switchboard store restore --from B --data-dir D   a store again from a backup
  switchboard store check --data-dir D        report damage; exit 1 if damaged
  switchboard store repair --data-dir D       recover what can be recovered
  switchboard store expire [--admin URL]      take what --retention expired out of the store now`,
	}
	cmd.AddCommand(newStoreBackupCmd(), newStoreRestoreCmd(), newStoreCheckCmd(), newStoreRepairCmd(), newStoreExpireCmd())
	return cmd
}

type storeOptions struct {
	dataDir string
	json    bool
}

func (o *storeOptions) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "the node's data directory (the store is <data-dir>/store)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
}

func (o *storeOptions) config() (pebblestore.Config, error) {
	if o.dataDir == "" {
		return pebblestore.Config{}, errors.New("give --data-dir")
	}
	return pebblestore.DefaultConfig(filepath.Join(o.dataDir, "store")), nil
}

func newStoreCheckCmd() *cobra.Command {
	var o storeOptions
	var quick bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report damage in the store (WAL, tables, acknowledged writes missing)",
		Long: `Open the store read-only (nothing is written) and check the WAL, that every
table exists with its recorded size, that no acknowledged commit is missing,
and (unless --quick) every table's checksums. Exits 1 when damaged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config()
			if err != nil {
				return err
			}
			rep, err := pebblestore.Check(cfg, !quick)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if o.json {
				if err := printJSON(out, rep); err != nil {
					return err
				}
			} else {
				printReport(cmd, rep)
			}
			if rep.Damaged() {
				return fmt.Errorf("%w: %d problem(s); see `switchboard store repair`", errDamaged, len(rep.Damage))
			}
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&quick, "quick", false, "skip reading every table (checksums)")
	return cmd
}

func printReport(cmd *cobra.Command, rep pebblestore.Report) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "store %s: %d table(s), %d WAL(s), commit %d, acknowledged %d\n", rep.Dir, rep.Tables, len(rep.WALs), rep.Commit, rep.Acked)
	if !rep.Exists {
		fmt.Fprintln(out, "no store here")
	}
	for _, d := range rep.Damage {
		fmt.Fprintln(out, "DAMAGED:", d)
	}
	if !rep.Damaged() {
		fmt.Fprintln(out, "ok")
	}
}

func newStoreRepairCmd() *cobra.Command {
	var o storeOptions
	var skip uint64
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Recover what can be recovered and move every conversation's seqs forward",
		Long: `Repair a damaged store (stop the node first). A damaged WAL and every newer
one are moved into <data-dir>/store/damaged-<time>/ and their records up to
the damage are applied again. Then every conversation's log is moved past
the highest seq that may have been acknowledged (its reservation plus
--seq-skip) with gap messages, so no acknowledged seq is ever given to a new
message. Damaged or missing tables cannot be repaired: restore a backup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config()
			if err != nil {
				return err
			}
			rr, err := pebblestore.Repair(cmd.Context(), cfg, skip)
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), rr)
			}
			out := cmd.OutOrStdout()
			if !rr.Before.Damaged() {
				fmt.Fprintln(out, "nothing to repair")
				return nil
			}
			for _, d := range rr.Before.Damage {
				fmt.Fprintln(out, "was damaged:", d)
			}
			if len(rr.MovedAside) > 0 {
				fmt.Fprintf(out, "moved %v to %s; re-applied %d record(s) read before the damage\n", rr.MovedAside, rr.AsideDir, rr.Salvaged)
			}
			fmt.Fprintf(out, "moved %d conversation(s) forward with %d gap message(s)\n", rr.Conversations, rr.GapRows)
			printReport(cmd, rr.After)
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().Uint64Var(&skip, "seq-skip", 1000, "seqs skipped above each conversation's reservation (the reservation itself may be lost; default = the grains' SeqReserve)")
	return cmd
}

func newStoreBackupCmd() *cobra.Command {
	var o adminOptions
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up a running node's embedded store (through its admin API)",
		Long: `Ask a running node for a consistent copy of its embedded store, taken while
it keeps serving (commits pause for the moment the copy is cut). The copy
is a new directory under the node's --backup-dir (default
<data-dir>/backups), named by the time; the answer gives its path, size and
the last acknowledged commit it holds. Tables are hard-linked when the
backup directory is on the store's file system: copy the directory
elsewhere (rsync, object storage) to keep it when the disk is lost.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var info pebblestore.BackupInfo
			if err := o.call(cmd.Context(), "POST", "/api/v1/store/backup", &info); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backed up to %s: %d file(s), %d bytes, acknowledged commit %d, in %.3fs\n",
				info.Dir, info.Files, info.Bytes, info.Acked, info.TookSecs)
			return nil
		},
	}
	o.flags(cmd)
	return cmd
}

func newStoreExpireCmd() *cobra.Command {
	var o adminOptions
	cmd := &cobra.Command{
		Use:   "expire",
		Short: "Take the content that --retention expired out of the store now (through the admin API)",
		Long: `Ask a running node with serve --retention for a retention sweep now,
whenever the last one ran: every conversation's texts, cards, edits and
files older than the retention are taken out of the store (readers already
see them as expired). Nodes sweep by themselves every
--retention-sweep-interval; this is for an operator who just shortened the
retention. A sweep cut short (a timeout) goes on from where it stopped.
Works on either store (docs/OPERATIONS.md, "Retention").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res admin.RetentionSweep
			if err := o.call(cmd.Context(), "POST", "/api/v1/store/expire", &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "took the content out of %d expired message(s) in %d conversation(s), in %.3fs\n",
				res.Expired, res.Conversations, res.TookSecs)
			if res.Failed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d conversation(s) failed and are left for the next sweep: see the node's log\n", res.Failed)
			}
			return nil
		},
	}
	o.flags(cmd)
	return cmd
}

func newStoreRestoreCmd() *cobra.Command {
	var o storeOptions
	var from string
	var skip uint64
	cmd := &cobra.Command{
		Use:   "restore --from BACKUP --data-dir D",
		Short: "Make <data-dir>/store a copy of a backup, with every conversation's seqs moved forward",
		Long: `Restore the embedded store from a backup (stop the node first; <data-dir>/store
must be empty or absent: move a damaged store aside). The backup is checked
first and refused if damaged; its files are copied. Messages acknowledged
after the backup are not in it, but the clients that saw them know their
seqs: so every conversation's log is moved forward by --seq-skip with gap
messages, as repair does, and no new message reuses such a seq. Choose
--seq-skip above the most messages one conversation can have taken since
the backup (each skipped seq is a gap message: a row per conversation).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("give --from, a backup directory")
			}
			cfg, err := o.config()
			if err != nil {
				return err
			}
			rr, err := pebblestore.Restore(cmd.Context(), cfg, from, skip)
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), rr)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %d file(s) from %s; moved %d conversation(s) forward with %d gap message(s)\n",
				rr.Files, rr.From, rr.Conversations, rr.GapRows)
			printReport(cmd, rr.After)
			return nil
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the backup directory (one `store backup` made)")
	cmd.Flags().Uint64Var(&skip, "seq-skip", 1000, "seqs each conversation moves forward: above the most messages one conversation can have taken since the backup (a gap message each)")
	return cmd
}
