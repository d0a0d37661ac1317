// Command switchboard is the one binary of Switchboard: it runs a node and
// talks to one (see `switchboard --help`).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "switchboard",
		Short:         "Switchboard: an actor-model instant-messaging runtime",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every flag of every command may come from SWITCHBOARD_<FLAG>.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return flagsFromEnv(cmd.Flags())
		},
	}
	root.AddCommand(newServeCmd(), newTokenCmd(), newSendCmd(), newForwardCmd(), newHistoryCmd(), newSyncCmd(), newReadCmd(),
		newRecallCmd(), newEditCmd(), newReactCmd(), newPollCmd(), newDownloadCmd(), newReadByCmd(), newPresenceCmd(), newLinkPreviewCmd(), newDisappearCmd(), newFreezeCmd(), newPrivacyCmd(), newProfileCmd(), newAwayCmd(), newQuietCmd(), newDraftsCmd(), newSearchCmd(), newConvsCmd(), newMuteCmd(), newArchiveCmd(), newSnoozeCmd(), newMarkUnreadCmd(), newClearCmd(), newHideCmd(), newLabelCmd(), newStarCmd(), newStarredCmd(), newScheduledCmd(), newBlockCmd(), newReportCmd(), newGroupCmd(), newChatCmd(), newClusterCmd(), newMetricsCmd(), newReplayCmd(), newBenchCmd(), newBenchSenderCmd(), newDeskCmd(), newStoreCmd(), newPolicyCmd(), newCardCmd(), newExportCmd(), newPushCmd(), newModerateCmd(), newPostCmd(), newTranscriptCmd(), newConvMetaCmd(), newAPIKeyCmd(), newVersionCmd(), newOpenAPICmd())
	return root
}
