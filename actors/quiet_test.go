package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Quiet hours are stored: read back after a restart, taken away with
// off, and by the user's erasure (a zone says where they live). Set and off at once, or hours with no interval, are INVALID; so is
// what openhours cannot read (a day that is none). The pause itself is
// tested over the wire (transport's TestOfflinePushQuietHours).
func TestQuietHoursStored(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	weekends := &pb.QuietHours{Zone: "Europe/Berlin", Week: map[string]string{"sat": "00:00-24:00", "sun": "00:00-24:00"}}
	for name, c := range map[string]struct {
		set *pb.QuietHours
		off bool
	}{
		"set and off":    {weekends, true},
		"no interval":    {&pb.QuietHours{Zone: "UTC"}, false},
		"an unknown day": {&pb.QuietHours{Zone: "UTC", Week: map[string]string{"someday": "09:00-10:00"}}, false},
		"no zone":        {&pb.QuietHours{Week: map[string]string{"mon": "09:00-10:00"}}, false},
	} {
		if _, err := node.SetQuietHours(ctx, "teacher", c.set, c.off); actors.CodeOf(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
	if q, err := node.SetQuietHours(ctx, "teacher", nil, false); err != nil || q != nil {
		t.Fatalf("none set: %v %v", q, err)
	}
	if _, err := node.SetQuietHours(ctx, "teacher", weekends, false); err != nil {
		t.Fatal(err)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	q, err := node.SetQuietHours(ctx, "teacher", nil, false)
	if err != nil || q.Zone != "Europe/Berlin" || q.Week["sat"] != "00:00-24:00" || len(q.Week) != 2 {
		t.Fatalf("after a restart: %v %v", q, err)
	}
	if q, err := node.SetQuietHours(ctx, "teacher", nil, true); err != nil || q != nil {
		t.Fatalf("off: %v %v", q, err)
	}
	if q, err := node.SetQuietHours(ctx, "teacher", nil, false); err != nil || q != nil {
		t.Fatalf("read after off: %v %v", q, err)
	}
	if _, err := node.SetQuietHours(ctx, "teacher", weekends, false); err != nil {
		t.Fatal(err)
	}
	if _, err := node.EraseUser(ctx, "teacher", actors.SentCursor{}); err != nil {
		t.Fatal(err)
	}
	if q, err := node.SetQuietHours(ctx, "teacher", nil, false); err != nil || q != nil {
		t.Fatalf("after the erasure: %v %v", q, err)
	}
}
