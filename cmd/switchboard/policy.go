package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/actors"
)

// readWordFile reads one word (or phrase) per line; # starts a comment.
func readWordFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			out = append(out, w)
		}
	}
	return out, sc.Err()
}

func newPolicyCmd() *cobra.Command {
	var o adminOptions
	cmd := &cobra.Command{Use: "policy", Short: "Content policy: the blocked and monitor-only word lists (through the admin API)"}
	o.flags(cmd)
	var blocked, monitor []string
	var blockedFile, monitorFile string
	words := &cobra.Command{
		Use:   "words",
		Short: "Show the word lists, or replace one or both (--blocked, --monitor, or their files); every node takes them within seconds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cur actors.WordLists
			if err := o.call(cmd.Context(), http.MethodGet, "/api/v1/policy/words", &cur); err != nil {
				return err
			}
			f := cmd.Flags()
			change := false
			for _, l := range []struct {
				flag, file string
				words      *[]string
				path       string
				into       *[]string
			}{{"blocked", "blocked-file", &blocked, blockedFile, &cur.Blocked}, {"monitor", "monitor-file", &monitor, monitorFile, &cur.Monitor}} {
				if f.Changed(l.flag) && f.Changed(l.file) {
					return fmt.Errorf("--%s and --%s: give one", l.flag, l.file)
				}
				switch {
				case f.Changed(l.flag):
					*l.into, change = *l.words, true
				case f.Changed(l.file):
					ws, err := readWordFile(l.path)
					if err != nil {
						return err
					}
					*l.into, change = ws, true
				}
			}
			if change {
				if err := o.send(cmd.Context(), http.MethodPut, "/api/v1/policy/words", cur, &cur); err != nil {
					return err
				}
			}
			if o.json {
				return printJSON(os.Stdout, cur)
			}
			fmt.Printf("blocked (%d): %s\nmonitor (%d): %s\n", len(cur.Blocked), strings.Join(cur.Blocked, ", "), len(cur.Monitor), strings.Join(cur.Monitor, ", "))
			return nil
		},
	}
	words.Flags().StringSliceVar(&blocked, "blocked", nil, "replace the blocked list (sends refused with REJECTED_POLICY); empty: clear it")
	words.Flags().StringSliceVar(&monitor, "monitor", nil, "replace the monitor-only list (delivered, flagged, counted, logged); empty: clear it")
	words.Flags().StringVar(&blockedFile, "blocked-file", "", "replace the blocked list from a file, one word per line")
	words.Flags().StringVar(&monitorFile, "monitor-file", "", "replace the monitor-only list from a file, one word per line")
	cmd.AddCommand(words)
	return cmd
}
