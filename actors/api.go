package actors

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The Go API to the grains. Every method returns an *Error (see CodeOf) for
// a rejection, and another error for a failure to reach the grain in time.

var (
	userIDPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	convIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)
)

// ValidUserID reports whether id is a well-formed user (or device) id:
// 1–64 of letters, digits and ._@-
func ValidUserID(id string) bool { return userIDPattern.MatchString(id) }

// ValidConvID reports whether id is a well-formed conversation id: 1–128
// of letters, digits and ._:@-
func ValidConvID(id string) bool { return convIDPattern.MatchString(id) }

func invalid(format string, args ...any) error {
	return &Error{Code: pb.Code_INVALID, Message: fmt.Sprintf(format, args...)}
}

func checkUser(id string) error {
	if !ValidUserID(id) {
		return invalid("bad user id %q", id)
	}
	return nil
}

func checkConv(id string) error {
	if !ValidConvID(id) {
		return invalid("bad conversation id %q", id)
	}
	return nil
}

// CreateConversation creates a conversation with its creator and members.
func (n *Runtime) CreateConversation(ctx context.Context, req *pb.CreateConversation) (*pb.CreateConversationResponse, error) {
	if err := checkConv(req.Conv); err != nil {
		return nil, err
	}
	if req.Creator != "" {
		if err := checkUser(req.Creator); err != nil {
			return nil, err
		}
	}
	for _, m := range req.Members {
		if err := checkUser(m.GetUser()); err != nil {
			return nil, err
		}
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.CreateConversationResponse)
	return r, fromPB(r.Error)
}

// Send sends a message into an existing conversation.
func (n *Runtime) Send(ctx context.Context, req *pb.SendMessage) (*pb.SendResponse, error) {
	if err := checkConv(req.Conv); err != nil {
		return nil, err
	}
	if err := checkUser(req.Sender); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SendResponse)
	return r, fromPB(r.Error)
}

// SendDirect sends to user `to`, creating the direct conversation on first use.
func (n *Runtime) SendDirect(ctx context.Context, to string, req *pb.SendMessage) (*pb.SendResponse, error) {
	if err := checkUser(to); err != nil {
		return nil, err
	}
	if err := checkUser(req.Sender); err != nil {
		return nil, err
	}
	if to == req.Sender {
		return nil, invalid("a direct conversation needs two different users")
	}
	req.Conv = wirepb.DirectConvID(req.Sender, to) // the protocol's rule, which clients compute too
	res, err := n.Send(ctx, req)
	if CodeOf(err) != pb.Code_NOT_FOUND {
		return res, err
	}
	_, err = n.CreateConversation(ctx, &pb.CreateConversation{Conv: req.Conv, Kind: pb.ConvKind_DIRECT,
		Members: []*pb.Member{{User: req.Sender}, {User: to}}})
	if err != nil && CodeOf(err) != pb.Code_EXISTS {
		return nil, err
	}
	return n.Send(ctx, req)
}

// Recall withdraws message seq; it returns the recall event's seq.
func (n *Runtime) Recall(ctx context.Context, conv, user string, seq uint64) (uint64, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return 0, err
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.RecallMessage{Conv: conv, User: user, Seq: seq})
	if err != nil {
		return 0, err
	}
	r := res.(*pb.RecallResponse)
	return r.Seq, fromPB(r.Error)
}

// ChangeMembership adds, removes, re-roles or mutes members; it returns the
// seq of the system message recording the change.
func (n *Runtime) ChangeMembership(ctx context.Context, req *pb.MembershipChange) (uint64, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.Actor)); err != nil {
		return 0, err
	}
	for _, u := range req.Users {
		if err := checkUser(u); err != nil {
			return 0, err
		}
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return 0, err
	}
	r := res.(*pb.MembershipResponse)
	return r.Seq, fromPB(r.Error)
}

// History returns a page of messages the user may see, straight from the
// store (no grain needs to be active): a member sees from the seq it
// joined at, and nothing after it left.
func (n *Runtime) History(ctx context.Context, req *pb.GetHistory) ([]*pb.Message, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.User)); err != nil {
		return nil, err
	}
	mem, err := n.store.GetMember(ctx, req.Conv, req.User)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &Error{Code: pb.Code_NOT_MEMBER, Message: fmt.Sprintf("%s is not a member of %s", req.User, req.Conv)}
	}
	if err != nil {
		return nil, fromPB(storeErr(err))
	}
	limit := int(req.Limit)
	if limit <= 0 || limit > n.cfg.MaxHistoryPage {
		limit = n.cfg.MaxHistoryPage
	}
	from, to := max(req.FromSeq, mem.JoinedSeq, 1), req.ToSeq
	if mem.LeftSeq > 0 && (to == 0 || to > mem.LeftSeq) {
		to = mem.LeftSeq
	}
	if to != 0 && to < from {
		return nil, nil
	}
	order := storage.NewestFirst
	if req.OldestFirst {
		order = storage.OldestFirst
	}
	msgs, err := n.store.ListMessages(ctx, req.Conv, from, to, order, limit)
	if err != nil {
		return nil, fromPB(storeErr(err))
	}
	out := make([]*pb.Message, len(msgs))
	for i := range msgs {
		out[i] = toPBMessage(&msgs[i])
	}
	return out, nil
}

// Members lists a conversation's members, for a member.
func (n *Runtime) Members(ctx context.Context, conv, user, after string, limit int) ([]*pb.Member, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, err
	}
	if _, err := n.store.GetMember(ctx, conv, user); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, &Error{Code: pb.Code_NOT_MEMBER, Message: fmt.Sprintf("%s is not a member of %s", user, conv)}
		}
		return nil, fromPB(storeErr(err))
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	ms, err := n.store.ListMembers(ctx, conv, after, limit)
	if err != nil {
		return nil, fromPB(storeErr(err))
	}
	out := make([]*pb.Member, 0, len(ms))
	for _, m := range ms {
		if m.Active() {
			out = append(out, toPBMember(m))
		}
	}
	return out, nil
}

// RegisterDevice marks a device online at conn (a connection actor that
// receives *pb.Push) and returns its stored cursor.
func (n *Runtime) RegisterDevice(ctx context.Context, user, device string, conn *actor.PID) (*pb.RegisterDeviceResponse, error) {
	if err := errors.Join(checkUser(user), checkUser(device)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.RegisterDevice{User: user, Device: device, ConnAddress: conn.Address, ConnId: conn.Id})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.RegisterDeviceResponse)
	return r, fromPB(r.Error)
}

// UnregisterDevice marks a device offline, if conn is still its connection.
func (n *Runtime) UnregisterDevice(ctx context.Context, user, device string, conn *actor.PID) error {
	_, err := n.request(ctx, KindUser, user, &pb.UnregisterDevice{User: user, Device: device, ConnId: conn.Id})
	return err
}

// Sync returns the conversations changed since cursor.
func (n *Runtime) Sync(ctx context.Context, user, device string, cursor uint64, limit int) (*pb.SyncResponse, error) {
	if err := errors.Join(checkUser(user), checkUser(device)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.Sync{User: user, Device: device, Cursor: cursor, Limit: uint32(max(0, limit))})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.SyncResponse)
	return r, fromPB(r.Error)
}

// AckCursor records that a device consumed its inbox up to cursor.
func (n *Runtime) AckCursor(ctx context.Context, user, device string, cursor uint64) error {
	if err := errors.Join(checkUser(user), checkUser(device)); err != nil {
		return err
	}
	res, err := n.request(ctx, KindUser, user, &pb.AckCursor{User: user, Device: device, Cursor: cursor})
	if err != nil {
		return err
	}
	return fromPB(res.(*pb.Ack).Error)
}

// MarkRead moves the user's read cursor in conv to seq.
func (n *Runtime) MarkRead(ctx context.Context, user, device, conv string, seq uint64) (*pb.MarkReadResponse, error) {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.MarkRead{User: user, Device: device, Conv: conv, Seq: seq})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.MarkReadResponse)
	return r, fromPB(r.Error)
}

// ListConversations lists the user's conversations: pinned first, then by
// last activity.
func (n *Runtime) ListConversations(ctx context.Context, user, afterConv string, limit int) (*pb.ListConversationsResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.ListConversations{User: user, AfterConv: afterConv, Limit: uint32(max(0, limit))})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.ListConversationsResponse)
	return r, fromPB(r.Error)
}

// SetPinned pins or unpins a conversation for the user.
func (n *Runtime) SetPinned(ctx context.Context, user, conv string, pinned bool) error {
	if err := errors.Join(checkUser(user), checkConv(conv)); err != nil {
		return err
	}
	res, err := n.request(ctx, KindUser, user, &pb.SetPinned{User: user, Conv: conv, Pinned: pinned})
	if err != nil {
		return err
	}
	return fromPB(res.(*pb.Ack).Error)
}

// Presence lists the user's online devices and the nodes they are on.
func (n *Runtime) Presence(ctx context.Context, user string) (*pb.PresenceResponse, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, KindUser, user, &pb.Presence{User: user})
	if err != nil {
		return nil, err
	}
	return res.(*pb.PresenceResponse), nil
}
