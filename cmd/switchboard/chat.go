package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

const chatHelp = `commands:
  /convs                 conversations, unread counts in brackets
  /open CONV | /to USER [TOPIC]  switch conversation (shows its latest messages, marks them read);
                         with TOPIC, the one with USER about it (a listing, an order)
  /history [N]           the last N messages of this conversation
  /read                  mark this conversation read
  /recall SEQ            recall one of your messages
  /edit SEQ TEXT         replace the text of one of your messages
  /reply SEQ TEXT        send TEXT as a reply to message SEQ
  /all TEXT              send TEXT mentioning everyone in this group (its owners and admins)
  /fwd SEQ TO            forward message SEQ (a text or a file) to user:NAME or a conversation
  /readby SEQ            who read one of your messages, and who did not yet
  /name [NAME]           show (or set) the name others see you by
  /star SEQ | /starred   star message SEQ of this conversation; list your starred messages
  /poll Q? | A | B ...   post a poll (question and options separated by |)
  /vote SEQ N [N ...]    vote for options N of the poll at SEQ (none: take the vote back)
  /report SEQ REASON     report another's message to the moderators
  /file PATH [CAPTION]   send a file
  /where LAT,LNG [NAME]  share a place (where to meet)
  /save SEQ [PATH]       save the file of message SEQ (default: its name, here, never over a file)
  /saved [NAME]          an agent: this desk line's saved replies, or send one
  /group ID USER,USER    create a group and open it
  /members               this conversation's members
  /disappear [DUR|off]   this conversation's timer for disappearing messages; set it (24h) or turn it off
  /quit
anything else is sent to the open conversation`

func newChatCmd() *cobra.Command {
	var o clientOptions
	var with, conv string
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Chat interactively (a line-oriented client)",
		Example: `  terminal 1:  switchboard chat --data-dir D --user alice --with bob
  terminal 2:  switchboard chat --data-dir D --user bob --with alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.device == "cli" {
				o.device = "chat"
			}
			c, err := o.connect(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer c.Close()
			ch := &chat{c: c, out: cmd.OutOrStdout(), ctx: cmd.Context()}
			fmt.Fprintf(ch.out, "connected as %s/%s — /help for commands\n", c.User(), c.Device())
			ch.listConvs()
			switch {
			case with != "":
				ch.open(wirepb.DirectConvID(c.User(), with), with)
			case conv != "":
				ch.open(conv, "")
			}
			return ch.loop(cmd.InOrStdin())
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&with, "with", "", "open the direct conversation with this user")
	cmd.Flags().StringVar(&conv, "conv", "", "open this conversation")
	return cmd
}

type chat struct {
	c    *client.Client
	out  io.Writer
	ctx  context.Context
	conv string // the open conversation
	to   string // its other user, for a direct conversation not yet created
	// names caches the users' display names read from their profiles
	// ("": none, or not visible).
	names map[string]string
	// lastSend is the newest text sent: leaving waits for its answer, so
	// a line typed just before /quit (or the end of the input) is sent.
	lastSend *client.Pending
}

// quitWait bounds how long leaving waits for the texts still on their way.
const quitWait = 10 * time.Second

// format is formatMessage with the sender shown by their profile's name,
// when they set one, beside their id.
func (ch *chat) format(m client.Message) string {
	m.Sender = ch.label(m.Conv, m.Sender)
	return formatMessage(m)
}

// label is "Name (id)" for a user with a display name, else the id. A
// profile is read once per chat (the names are not pushed when they
// change: a chat started later shows the new name).
func (ch *chat) label(conv, user string) string {
	name, ok := ch.names[user]
	if !ok && user != "" {
		ps, err := ch.c.Profiles(ch.ctx, conv, user)
		if err != nil {
			return user // shown by id; asked again next time
		}
		if len(ps) == 1 {
			name = ps[0].Name
		}
		if ch.names == nil {
			ch.names = map[string]string{}
		}
		ch.names[user] = name
	}
	if name == "" {
		return user
	}
	return name + " (" + user + ")"
}

func (ch *chat) loop(in io.Reader) error {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-ch.ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok || strings.TrimSpace(line) == "/quit" {
				ch.waitSent()
				return nil
			}
			ch.command(strings.TrimSpace(line))
		case e := <-ch.c.Events():
			ch.event(e)
		}
	}
}

func (ch *chat) command(line string) {
	if line == "" {
		return
	}
	if !strings.HasPrefix(line, "/") {
		ch.send(line)
		return
	}
	f := strings.Fields(line)
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case "/help":
		fmt.Fprintln(ch.out, chatHelp)
	case "/convs":
		ch.listConvs()
	case "/open":
		ch.open(arg(1), "")
	case "/to":
		ch.open(wirepb.DirectTopicConvID(ch.c.User(), arg(1), arg(2)), arg(1))
	case "/history":
		n, _ := strconv.Atoi(arg(1))
		ch.history(max(n, 20))
	case "/read":
		ch.markRead(0)
	case "/recall":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		if err != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /recall SEQ (in an open conversation)")
			return
		}
		if _, err := ch.c.Recall(ch.ctx, ch.conv, seq); err != nil {
			fmt.Fprintln(ch.out, "! recall:", err)
		}
	case "/edit":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		text := strings.Join(f[min(2, len(f)):], " ")
		if err != nil || ch.conv == "" || text == "" {
			fmt.Fprintln(ch.out, "usage: /edit SEQ TEXT (in an open conversation)")
			return
		}
		if _, err := ch.c.Edit(ch.ctx, ch.conv, seq, text); err != nil {
			fmt.Fprintln(ch.out, "! edit:", err)
		}
	case "/reply":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		text := strings.Join(f[min(2, len(f)):], " ")
		if err != nil || ch.conv == "" || text == "" {
			fmt.Fprintln(ch.out, "usage: /reply SEQ TEXT (in an open conversation)")
			return
		}
		// Waited for, as an edit is: a refusal (no such message) is
		// said at once.
		p, err := ch.c.Reply(ch.conv, seq, []byte(text), "")
		if err == nil {
			_, err = p.Wait(ch.ctx)
		}
		if err != nil {
			fmt.Fprintln(ch.out, "! reply:", err)
		}
	case "/all":
		text := strings.Join(f[min(1, len(f)):], " ")
		if text == "" || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /all TEXT (in an open group)")
			return
		}
		p, err := ch.c.MentionAll(ch.conv, []byte(text), "")
		if err == nil {
			_, err = p.Wait(ch.ctx)
		}
		if err != nil {
			fmt.Fprintln(ch.out, "! all:", err)
		}
	case "/fwd":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		to, terr := parseTarget(arg(2), "")
		if err != nil || terr != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /fwd SEQ user:NAME|conv:ID (in an open conversation)")
			return
		}
		p, err := ch.c.Forward(to, ch.conv, seq)
		if err == nil {
			_, err = p.Wait(ch.ctx)
		}
		if err != nil {
			fmt.Fprintln(ch.out, "! fwd:", err)
			return
		}
		fmt.Fprintf(ch.out, "  #%d forwarded\n", seq)
	case "/name":
		change := &wirepb.ProfileRequest{}
		if name := strings.Join(f[min(1, len(f)):], " "); name != "" {
			change.Name = &name
		}
		p, err := ch.c.SetProfile(ch.ctx, change)
		if err != nil {
			fmt.Fprintln(ch.out, "! name:", err)
			return
		}
		delete(ch.names, p.User)
		fmt.Fprintf(ch.out, "  you show as %q\n", p.Name)
	case "/disappear":
		ch.disappear(arg(1))
	case "/star":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		if err != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /star SEQ (in an open conversation)")
			return
		}
		if n, err := ch.c.Star(ch.ctx, ch.conv, seq, true); err != nil {
			fmt.Fprintln(ch.out, "! star:", err)
		} else {
			fmt.Fprintf(ch.out, "  #%d starred (%d starred)\n", seq, n)
		}
	case "/starred":
		all, err := ch.c.Starred(ch.ctx)
		if err != nil {
			fmt.Fprintln(ch.out, "! starred:", err)
			return
		}
		for _, s := range all {
			fmt.Fprintf(ch.out, "  %s %s\n", s.Message.Conv, ch.format(s.Message))
		}
	case "/readby":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		if err != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /readby SEQ (in an open conversation)")
			return
		}
		read, unread, err := ch.c.ReadBy(ch.ctx, ch.conv, seq)
		if err != nil {
			fmt.Fprintln(ch.out, "! readby:", err)
			return
		}
		fmt.Fprintf(ch.out, "  #%d read by %d: %s; not yet by %d: %s\n", seq, len(read), strings.Join(read, " "), len(unread), strings.Join(unread, " "))
	case "/poll":
		parts := strings.Split(strings.Join(f[min(1, len(f)):], " "), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if ch.conv == "" || len(parts) < 3 {
			fmt.Fprintln(ch.out, "usage: /poll QUESTION | OPTION | OPTION ... (in an open conversation)")
			return
		}
		if _, err := ch.c.SendPoll(ch.ctx, client.ToConv(ch.conv), client.Poll{Question: parts[0], Options: parts[1:]}); err != nil {
			fmt.Fprintln(ch.out, "! poll:", err)
		}
	case "/vote":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		var opts []uint32
		for _, a := range f[min(2, len(f)):] {
			n, perr := strconv.ParseUint(a, 10, 32)
			err = errors.Join(err, perr)
			opts = append(opts, uint32(n))
		}
		if err != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /vote SEQ [OPTION ...] (in an open conversation; options from 0)")
			return
		}
		if _, err := ch.c.Vote(ch.ctx, ch.conv, seq, opts...); err != nil {
			fmt.Fprintln(ch.out, "! vote:", err)
		}
	case "/where":
		lat, lng, ok := strings.Cut(arg(1), ",")
		la, err1 := strconv.ParseFloat(lat, 64)
		ln, err2 := strconv.ParseFloat(lng, 64)
		if !ok || err1 != nil || err2 != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /where LAT,LNG [NAME] (in an open conversation)")
			return
		}
		p, err := ch.c.SendLocation(ch.target(), la, ln, strings.Join(f[min(2, len(f)):], " "), "")
		if err != nil {
			fmt.Fprintln(ch.out, "! where:", err)
			return
		}
		ch.lastSend = p // /quit waits for it too
	case "/file":
		if arg(1) == "" || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /file PATH [CAPTION] (in an open conversation)")
			return
		}
		ch.sendFile(arg(1), strings.Join(f[min(2, len(f)):], " "))
	case "/save":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		if err != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /save SEQ [PATH] (in an open conversation)")
			return
		}
		ch.saveFile(seq, arg(2))
	case "/saved":
		ch.saved(arg(1))
	case "/report":
		seq, err := strconv.ParseUint(arg(1), 10, 64)
		if err != nil || ch.conv == "" {
			fmt.Fprintln(ch.out, "usage: /report SEQ REASON (in an open conversation)")
			return
		}
		id, dup, err := ch.c.Report(ch.ctx, ch.conv, seq, strings.Join(f[min(2, len(f)):], " "))
		switch {
		case err != nil:
			fmt.Fprintln(ch.out, "! report:", err)
		case dup:
			fmt.Fprintf(ch.out, "  #%d was reported already (report %s)\n", seq, id)
		default:
			fmt.Fprintf(ch.out, "  #%d reported to the moderators (report %s)\n", seq, id)
		}
	case "/group":
		id, err := ch.c.CreateGroup(ch.ctx, arg(1), arg(1), strings.Split(arg(2), ","))
		if err != nil {
			fmt.Fprintln(ch.out, "! group:", err)
			return
		}
		ch.open(id, "")
	case "/members":
		ms, err := ch.c.AllMembers(ch.ctx, ch.conv)
		if err != nil {
			fmt.Fprintln(ch.out, "! members:", err)
			return
		}
		for _, m := range ms {
			fmt.Fprintf(ch.out, "  %s (%s)\n", m.User, strings.ToLower(m.Role.String()))
		}
	default:
		fmt.Fprintln(ch.out, "unknown command; /help")
	}
}

func (ch *chat) listConvs() {
	list, total, err := ch.c.ListConversations(ch.ctx, "", 50)
	if err != nil {
		fmt.Fprintln(ch.out, "! conversations:", err)
		return
	}
	fmt.Fprintf(ch.out, "— %d conversations, %d unread\n", len(list), total)
	for _, s := range list {
		fmt.Fprintln(ch.out, "  "+formatSummary(s))
	}
}

func (ch *chat) open(conv, to string) {
	if conv == "" {
		fmt.Fprintln(ch.out, "usage: /open CONV or /to USER")
		return
	}
	ch.conv, ch.to = conv, to
	fmt.Fprintf(ch.out, "— %s\n", conv)
	ch.history(20)
	if c, ok := ch.c.Conversation(conv); ok && c.Frozen.Holds(time.Now()) {
		f := c.Frozen
		printFrozen(ch.out, conv, true, func() (string, string, time.Time, time.Time) { return f.Reason, f.By, f.At, f.Until })
	}
}

func (ch *chat) history(n int) {
	if ch.conv == "" {
		return
	}
	ms, err := ch.c.History(ch.ctx, ch.conv, client.HistoryOptions{Limit: n})
	if err != nil {
		if wirepb.CodeOf(err) != wirepb.Code_NOT_MEMBER || ch.to == "" {
			fmt.Fprintln(ch.out, "! history:", err)
		}
		return
	}
	for i := len(ms) - 1; i >= 0; i-- {
		fmt.Fprintln(ch.out, "  "+ch.format(ms[i]))
	}
	if len(ms) > 0 {
		ch.markRead(ms[0].Seq)
	}
}

func (ch *chat) markRead(seq uint64) {
	if ch.conv == "" {
		return
	}
	if seq == 0 {
		if c, ok := ch.c.Conversation(ch.conv); ok {
			seq = c.LastSeq
		}
	}
	if c, ok := ch.c.Conversation(ch.conv); ok && seq <= c.ReadSeq {
		return
	}
	if _, _, err := ch.c.MarkRead(ch.ctx, ch.conv, seq); err != nil && wirepb.CodeOf(err) != wirepb.Code_NOT_MEMBER {
		fmt.Fprintln(ch.out, "! read:", err)
	}
}

// target is where the open conversation's messages go: a direct one
// opened with /to by its user (and topic), which starts it if it is not
// yet; any other by its id.
func (ch *chat) target() client.Target {
	if ch.to != "" {
		return client.ToUserAbout(ch.to, wirepb.DirectTopic(ch.conv))
	}
	return client.ToConv(ch.conv)
}

func (ch *chat) send(text string) {
	if ch.conv == "" {
		fmt.Fprintln(ch.out, "open a conversation first: /to USER or /open CONV")
		return
	}
	p, err := ch.c.Send(ch.target(), []byte(text), "")
	if err != nil {
		fmt.Fprintln(ch.out, "! send:", err)
		return
	}
	ch.lastSend = p
}

// waitSent waits, at most quitWait, for the newest text's answer (the
// texts before it to the same conversation are answered first, in order).
func (ch *chat) waitSent() {
	if ch.lastSend == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ch.ctx, quitWait)
	defer cancel()
	if _, err := ch.lastSend.Wait(ctx); err != nil {
		fmt.Fprintln(ch.out, "! send:", err)
	}
}

func (ch *chat) event(e client.Event) {
	switch e.Kind {
	case client.EventMessage:
		m := e.Message
		if m.Sender == ch.c.User() && m.Kind == wirepb.MessageKind_NORMAL {
			return // shown by its state change
		}
		if m.Conv == ch.conv {
			fmt.Fprintln(ch.out, "  "+ch.format(*m))
			ch.markRead(m.Seq)
			return
		}
		conv, _ := ch.c.Conversation(m.Conv)
		fmt.Fprintf(ch.out, "  [%s (%d%s)] %s\n", m.Conv, conv.Unread, mentionBadge(conv.UnreadMentions), ch.format(*m))
	case client.EventMessageState:
		m := e.Message
		switch m.State {
		case client.StateSent:
			fmt.Fprintf(ch.out, "  %s  ✓\n", ch.format(*m))
		case client.StateDelivered:
			fmt.Fprintf(ch.out, "  ✓✓ #%d delivered\n", m.Seq)
		case client.StateRead:
			fmt.Fprintf(ch.out, "  ✓✓ #%d read\n", m.Seq)
		case client.StateFailed:
			fmt.Fprintf(ch.out, "  ! not sent (%q): %v\n", string(m.Body), m.Err)
		}
	case client.EventTyping:
		if e.Conv == ch.conv && e.Typing {
			fmt.Fprintf(ch.out, "  %s is typing…\n", e.User)
		}
	case client.EventCall:
		ch.call(e.Call)
	case client.EventMembership:
		fmt.Fprintf(ch.out, "  — membership of %s changed\n", e.Conv)
	case client.EventDisconnected:
		fmt.Fprintln(ch.out, "  — disconnected; reconnecting…")
	case client.EventConnected:
		fmt.Fprintln(ch.out, "  — connected")
	case client.EventError:
		fmt.Fprintln(ch.out, "  ! stopped:", e.Err)
	}
}

// call tells of a call's steps. A terminal has no microphone: a call
// that rings here is answered in an app (or declined there, or missed).
func (ch *chat) call(e *client.CallEvent) {
	switch e.Kind {
	case client.CallRinging:
		fmt.Fprintf(ch.out, "  📞 %s is calling in %s (answer in an app)\n", e.Call.Caller, e.Call.Conv)
	case client.CallAccepted:
		fmt.Fprintf(ch.out, "  📞 %s answered the call on %s\n", e.Call.Callee, e.Call.AnsweredDevice)
	case client.CallEnded:
		fmt.Fprintf(ch.out, "  📞 the call in %s ended: %s\n", e.Call.Conv, e.Outcome)
	}
}

// saved lists the saved replies of the open desk conversation's line
// (s:LINE:CUSTOMER:N), or sends the one named.
func (ch *chat) saved(name string) {
	parts := strings.Split(ch.conv, ":")
	if len(parts) != 4 || parts[0] != "s" {
		fmt.Fprintln(ch.out, "usage: /saved [NAME] (in an open desk conversation)")
		return
	}
	// Filled for the session when this agent holds it (or supervises);
	// else the line's, as written.
	list, err := ch.c.DeskSavedRepliesFor(ch.ctx, ch.conv)
	if we := (*wirepb.Error)(nil); errors.As(err, &we) && we.Code == wirepb.Code_FORBIDDEN {
		list, err = ch.c.DeskSavedReplies(ch.ctx, parts[1])
	}
	if err != nil {
		fmt.Fprintln(ch.out, "! saved:", err)
		return
	}
	for _, r := range list {
		switch {
		case name == "":
			fmt.Fprintf(ch.out, "  %-16s %s\n", r.Name, r.Text)
		case r.Name == name:
			ch.send(r.Text)
			return
		}
	}
	if name != "" {
		fmt.Fprintf(ch.out, "! saved: line %s has no saved reply %q\n", parts[1], name)
	} else if len(list) == 0 {
		fmt.Fprintf(ch.out, "  line %s has no saved replies\n", parts[1])
	}
}

// sendFile uploads the file at path into the open conversation and sends it.
func (ch *chat) sendFile(path, caption string) {
	data, typ, err := readFile(path, "")
	if err != nil {
		fmt.Fprintln(ch.out, "! file:", err)
		return
	}
	if _, err := ch.c.SendFile(ch.ctx, ch.conv, filepath.Base(path), typ, data, caption); err != nil {
		fmt.Fprintln(ch.out, "! file:", err)
	}
}

// saveFile saves the file of message seq of the open conversation.
func (ch *chat) saveFile(seq uint64, path string) {
	ref, data, err := ch.c.Download(ch.ctx, ch.conv, seq)
	if err != nil {
		fmt.Fprintln(ch.out, "! save:", err)
		return
	}
	if path, err = saveDownload(ref, data, path); err != nil {
		fmt.Fprintln(ch.out, "! save:", err)
		return
	}
	fmt.Fprintf(ch.out, "  saved %s (%d bytes)\n", path, len(data))
}

// disappear shows the open conversation's timer for disappearing
// messages or, with to ("24h", "off"), sets it.
func (ch *chat) disappear(to string) {
	if ch.conv == "" {
		fmt.Fprintln(ch.out, "usage: /disappear [DURATION|off] (in an open conversation)")
		return
	}
	after, err := ch.c.Disappearing(ch.ctx, ch.conv)
	if to != "" {
		if to == "off" {
			after = 0
		} else if after, err = time.ParseDuration(to); err != nil || after <= 0 {
			fmt.Fprintln(ch.out, "usage: /disappear [DURATION|off]: a duration such as 24h")
			return
		}
		_, err = ch.c.SetDisappearing(ch.ctx, ch.conv, after)
	}
	switch {
	case err != nil:
		fmt.Fprintln(ch.out, "! disappear:", err)
	case after == 0:
		fmt.Fprintln(ch.out, "  messages here stay")
	default:
		fmt.Fprintf(ch.out, "  messages here disappear %v after they are sent\n", after)
	}
}
