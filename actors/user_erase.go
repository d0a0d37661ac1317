package actors

import (
	"context"
	"fmt"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Erasure: a user asks for their account to be deleted (the "right to be
// forgotten"), or an operator closes an account for good. EraseUser
// suspends the user without end, recalls as the operator every message
// they sent in every conversation they were ever in, deletes their
// push registrations and clears their profile (name, avatar and the
// operator's meta), their
// drafts, their requests to join groups (with their notes), their own
// labels of their conversations and the attributes a business kept about
// them for its desk. The recalls go through the conversation grains, as
// an operator's single recall does: each clears the stored text or card
// (and its edits' or updates') and tells every member's devices, so
// clients drop their copies.
//
// It reads each of the user's conversations whole, a page at a time: an
// operator's job, not a request path. It stops where it is when ctx ends
// (Done false, and Next where to go on from) and is idempotent: messages
// already recalled are skipped, so an erasure cut short (a deadline, a
// node lost) is finished by running it again, from Next or from the start.
//
// Desk steps the user took keep their record (a rating's score, a
// close) and lose the user's words: the comment, the reason. The desk
// forgets them first (SetDeskForget), so it cannot write them again.
//
// What stays: the user id (in other members' lists, in direct
// conversation ids and as the sender of the recalled rows), their
// reactions (an emoji beside the id), the device
// and read-cursor rows (no content), and the open reports' snapshots of
// the user's messages until a moderator resolves them.

// ErasureReason is the suspension reason an erased user's clients are shown.
const ErasureReason = "account erased"

// Erasure says what EraseUser did.
type Erasure struct {
	Done          bool       // false: ctx ended first; run it again from Next to finish
	Next          SentCursor // not Done: where the walk stopped
	Conversations int        // conversations whose logs it started reading
	Recalled      int        // the user's messages (texts and cards) recalled by this run
	DeskSteps     int        // desk steps of theirs whose words (a rating's comment, a close's reason) were taken out
	PushTokens    int        // push registrations deleted
	EndedDevices  []string   // devices that were online and were disconnected
}

// EraseUser erases user's messages and closes the account (above), going
// through what they sent from from (zero: the start).
func (n *Runtime) EraseUser(ctx context.Context, user string, from SentCursor) (Erasure, error) {
	var res Erasure
	if err := checkUser(user); err != nil {
		return res, err
	}
	if err := from.check(); err != nil {
		return res, err
	}
	// First, so no device of theirs writes while the logs are read; once
	// (a run that goes on from where another stopped finds it).
	st, err := n.Suspension(ctx, user)
	if err != nil {
		return res, fmt.Errorf("erase %s: suspension: %w", user, err)
	}
	if st.Suspension == nil || st.Suspension.Reason != ErasureReason || st.Suspension.UntilMs != 0 {
		sus, err := n.Suspend(ctx, user, time.Time{}, ErasureReason)
		if err != nil {
			return res, fmt.Errorf("erase %s: suspend: %w", user, err)
		}
		res.EndedDevices = sus.EndedDevices
	}
	deskForgot := map[string]bool{} // conversations whose desk state forgot the user's words
	next, _, walked, err := n.walkSent(ctx, user, from, 0, func(conv string, m storage.Message) (bool, error) {
		switch {
		case m.Recalled():
		case m.RefSeq != 0 && (m.Kind == storage.MsgCard || m.Kind == storage.MsgPoll):
			// A card update goes with the card it updates; a poll's
			// close holds nothing of theirs.
		case m.Kind == storage.MsgSystem: // a desk step holding their words
			if err := n.forgetDeskWords(ctx, user, conv, m.Seq, !deskForgot[conv]); err != nil {
				return false, err
			}
			deskForgot[conv] = true
			res.DeskSteps++
		case !m.Edit(): // a text or a card; an edit goes with the message it edits
			// n.request already waits out a RETRY (a message being
			// confirmed or edited) until ctx ends.
			if _, err := n.RecallAsOperator(ctx, conv, m.Seq); err != nil {
				return false, fmt.Errorf("recall %d of %s: %w", m.Seq, conv, err)
			}
			res.Recalled++
		}
		return true, nil
	})
	res.Conversations = walked.conversations
	if ctx.Err() != nil {
		res.Next = next
		n.log.Info("user erasure stopped at its deadline; run it again to finish", "user", user,
			"conversations", res.Conversations, "recalled", res.Recalled)
		return res, nil // not Done
	}
	if err != nil {
		return res, fmt.Errorf("erase %s: %w", user, err)
	}
	tokens, err := n.store.ListPushTokens(ctx, user)
	if err != nil {
		return res, fmt.Errorf("erase %s: push tokens: %w", user, fromPB(storeErr(err)))
	}
	for _, t := range tokens {
		if err := n.UnregisterPushToken(ctx, user, t.DeviceID); err != nil {
			return res, fmt.Errorf("erase %s: push token of %s: %w", user, t.DeviceID, err)
		}
		res.PushTokens++
	}
	clear := ""
	if _, err := n.SetProfile(ctx, user, &pb.SetProfile{Name: &clear, AvatarUrl: &clear}); err != nil {
		return res, fmt.Errorf("erase %s: profile: %w", user, err)
	}
	if _, err := n.SetProfileMeta(ctx, user, nil); err != nil {
		return res, fmt.Errorf("erase %s: profile's meta: %w", user, err)
	}
	if _, err := n.SetAway(ctx, user, &clear, time.Time{}); err != nil {
		return res, fmt.Errorf("erase %s: away message: %w", user, err)
	}
	if _, err := n.SetQuietHours(ctx, user, nil, true); err != nil { // a time zone says where they live
		return res, fmt.Errorf("erase %s: quiet hours: %w", user, err)
	}
	if _, err := n.SetUserAttributes(ctx, user, nil); err != nil {
		return res, fmt.Errorf("erase %s: customer attributes: %w", user, err)
	}
	if err := n.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: draftsKey(user), At: time.Now()}); err != nil {
		return res, fmt.Errorf("erase %s: drafts: %w", user, fromPB(storeErr(err)))
	}
	if err := n.dropJoinRequests(ctx, user); err != nil {
		return res, fmt.Errorf("erase %s: requests to join: %w", user, err)
	}
	if err := n.dropLabels(ctx, user); err != nil {
		return res, fmt.Errorf("erase %s: labels: %w", user, err)
	}
	res.Done = true
	n.log.Info("user erased", "user", user, "conversations", res.Conversations, "recalled", res.Recalled,
		"desk_steps", res.DeskSteps, "push_tokens", res.PushTokens)
	n.moderated(ModerationEvent{Op: "erase", User: user, Since: time.Now()})
	return res, nil
}

// forgetDeskWords takes user's words out of desk step seq of conv: from
// the desk's state (askDesk: once per conversation, if a desk is
// installed), then from the log.
func (n *Runtime) forgetDeskWords(ctx context.Context, user, conv string, seq uint64, askDesk bool) error {
	if f := n.deskForget.Load(); askDesk && f != nil && *f != nil {
		if err := (*f)(ctx, user, conv); err != nil {
			return fmt.Errorf("desk state of %s: %w", conv, err)
		}
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.RedactDeskStep{Conv: conv, Seq: seq, User: user})
	if err == nil {
		err = fromPB(res.(*pb.RedactDeskStepResponse).Error)
	}
	if err != nil {
		return fmt.Errorf("desk step %d of %s: %w", seq, conv, err)
	}
	return nil
}

// DeskForget takes what user typed out of the desk's state of the service
// conversation conv (package actors/desk, wired by boot.StartNode).
type DeskForget func(ctx context.Context, user, conv string) error

// SetDeskForget installs the desk's side of an erasure.
func (n *Runtime) SetDeskForget(f DeskForget) { n.deskForget.Store(&f) }
