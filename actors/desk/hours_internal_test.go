package desk

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// The desk's own limits reach the hours' parser (package openhours tests
// each limit at its edge), and its refusals are INVALID.
func TestParseHoursUsesTheDeskLimits(t *testing.T) {
	c, _ := Config{MaxDayIntervals: 1, MaxClosedDates: 1, MaxHoursMessage: 3}.withDefaults()
	for name, h := range map[string]Hours{
		"two intervals":    {TZ: "UTC", Week: map[string]string{"mon": "09:00-10:00,11:00-12:00"}},
		"two closed dates": {TZ: "UTC", ClosedDates: []string{"2027-01-01", "2027-01-02"}},
		"a long message":   {TZ: "UTC", Message: "four"},
	} {
		if _, err := c.parseHours(h); actors.CodeOf(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
	if _, err := c.parseHours(Hours{TZ: "UTC", Week: map[string]string{"mon": "09:00-10:00"}, ClosedDates: []string{"2027-01-01"}, Message: "yes"}); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}
