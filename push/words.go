package push

import (
	"fmt"
	"strconv"
)

// The node's own words in notifications, each under the key an app
// translates it by: its Localizable.strings (iOS, the APNs loc-key) or
// string resources (Android, FCM's body_loc_key), the arguments in order.
// What users wrote is never keyed. docs/OPERATIONS.md lists them.
const (
	KeyNewMessage        = "sb_new_message"         // "New message"
	KeyNewMessages       = "sb_new_messages"        // "%s new messages": the count
	KeyJoinRequest       = "sb_join_request"        // "asks to join"
	KeyJoinRequestNote   = "sb_join_request_note"   // "asks to join: %s": the requester's note
	KeyIncomingCall      = "sb_incoming_call"       // "Incoming call"
	KeyIncomingVideoCall = "sb_incoming_video_call" // "Incoming video call"
	KeyMissedCall        = "sb_missed_call"         // "Missed call"
	KeyMissedVideoCall   = "sb_missed_video_call"   // "Missed video call"
	KeyReminder          = "sb_reminder"            // "Reminder": a starred message's, its text hidden
	KeyLocation          = "sb_location"            // "📍 Location": a place shared without a name
	KeyLocationNamed     = "sb_location_named"      // "📍 %s": a named place
	KeyFile              = "sb_file"                // "📎 %s": a file sent without a caption, its name
	KeyPoll              = "sb_poll"                // "📊 %s": a poll's question
)

// english is each key's text in English, the words a notification shows
// where the app does not translate them; %s takes the arguments in order.
var english = map[string]string{
	KeyNewMessage:        "New message",
	KeyNewMessages:       "%s new messages",
	KeyJoinRequest:       "asks to join",
	KeyJoinRequestNote:   "asks to join: %s",
	KeyIncomingCall:      "Incoming call",
	KeyIncomingVideoCall: "Incoming video call",
	KeyMissedCall:        "Missed call",
	KeyMissedVideoCall:   "Missed video call",
	KeyReminder:          "Reminder",
	KeyLocation:          "📍 Location",
	KeyLocationNamed:     "📍 %s",
	KeyFile:              "📎 %s",
	KeyPoll:              "📊 %s",
}

// Words is a notification text the node writes: a key of the table above
// and its arguments (which may hold what users wrote: a note, a name).
type Words struct {
	Key  string
	Args []string
}

// Say is the words of key with args.
func Say(key string, args ...string) Words { return Words{Key: key, Args: args} }

// English is the words' text in English.
func (w Words) English() string {
	format, ok := english[w.Key]
	if !ok || len(w.Args) == 0 {
		return format
	}
	args := make([]any, len(w.Args))
	for i, a := range w.Args {
		args[i] = a
	}
	return fmt.Sprintf(format, args...)
}

// words is what n says in the node's words: its own key, or for a
// notification of messages that shows none of their text, their count.
// A text without a key is what a user wrote (ok false).
func (n Notification) words() (w Words, ok bool) {
	switch {
	case n.LocKey != "":
		return Words{Key: n.LocKey, Args: n.LocArgs}, true
	case n.Text == "" && n.Kind == KindMessage:
		return countWords(n.Count), true
	}
	return Words{}, false
}

// body is the text a notification shows, in English.
func (n Notification) body() string {
	if w, ok := n.words(); ok && n.Text == "" {
		return w.English()
	}
	return n.Text
}

// countWords is what a notification of count messages says when it
// shows none of their text (hidden previews, a card, a recalled newest).
func countWords(count int) Words {
	if count <= 1 {
		return Say(KeyNewMessage)
	}
	return Say(KeyNewMessages, strconv.Itoa(count))
}
