package push

// The kinds of notification (Notification.Kind) and how the platforms
// present each: the iOS category an app registers its actions under
// (reply, mark read; answer, decline), the Android channel an app
// creates with its sound and importance, and whether it may break
// through a Focus or Do Not Disturb mode. An app that registers none of
// them gets the platform's defaults. docs/OPERATIONS.md lists them.
const (
	KindMessage        = ""                // a user's messages
	KindJoinRequest    = "join_request"    // a request to join one of the user's groups
	KindCall           = "call"            // a call ringing for the user
	KindCallEnded      = "call_ended"      // that call stopped ringing: silent, for the app to stop ringing
	KindReminder       = "reminder"        // the reminder the user set on a starred message
	KindUnreadReminder = "unread_reminder" // to the operator's webhook only: a message left unread
)

type presentation struct {
	category string // APNs aps.category
	channel  string // FCM android.notification.channel_id
	urgent   bool   // iOS interruption-level time-sensitive; FCM android priority HIGH
}

var presentations = map[string]presentation{
	KindMessage:     {category: "sb.message", channel: "sb_messages"},
	KindJoinRequest: {category: "sb.join_request", channel: "sb_join_requests"},
	KindCall:        {category: "sb.call", channel: "sb_calls", urgent: true},
	KindReminder:    {category: "sb.reminder", channel: "sb_reminders", urgent: true},
}

// presentationOf is how n is presented; a kind the table lacks as a message.
func presentationOf(n Notification) presentation {
	if p, ok := presentations[n.Kind]; ok {
		return p
	}
	return presentations[KindMessage]
}

// apsPresentation adds n's category, urgency and the app extension's
// hook (mutable-content: an app's Notification Service Extension may
// rewrite it, e.g. to attach a picture; without one it shows as sent).
func apsPresentation(aps map[string]any, n Notification) {
	p := presentationOf(n)
	aps["category"], aps["mutable-content"] = p.category, 1
	if p.urgent {
		aps["interruption-level"] = "time-sensitive"
	}
}
