package actors

import (
	"fmt"
	"slices"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// typingAudienceOf at typingPages' edge: with at most 2 members for typing
// (pages of 3 rows), the two active members after 9 leavers' rows are
// found on the fourth page, the last read; after 10 leavers' rows the
// fourth page is full and more may follow, so the group counts as large.
// Over the bound, none; a block in a direct conversation, none.
func TestTypingAudienceAtItsPageBound(t *testing.T) {
	rows := func(leavers int, active ...string) []*pb.Member {
		var out []*pb.Member
		for i := range leavers {
			out = append(out, &pb.Member{User: fmt.Sprintf("a%02d", i), LeftSeq: 5})
		}
		for _, u := range active {
			out = append(out, &pb.Member{User: u})
		}
		return out
	}
	// pages reads rows as Runtime.Members does: up to limit rows after a
	// user, the active ones answered, next set when the page was full.
	pages := func(all []*pb.Member, reads *int) func(string, int) ([]*pb.Member, string, error) {
		return func(after string, limit int) ([]*pb.Member, string, error) {
			*reads++
			i := slices.IndexFunc(all, func(m *pb.Member) bool { return m.User > after })
			if i < 0 {
				return nil, "", nil
			}
			page := all[i:min(len(all), i+limit)]
			next := ""
			if len(page) == limit {
				next = page[len(page)-1].User
			}
			var active []*pb.Member
			for _, m := range page {
				if m.LeftSeq == 0 {
					active = append(active, m)
				}
			}
			return active, next, nil
		}
	}
	for _, c := range []struct {
		name   string
		rows   []*pb.Member
		direct bool
		want   []string
		reads  int
	}{
		{"9 leavers: found on the last page read", rows(9, "x", "y"), false, []string{"x", "y"}, 4},
		{"10 leavers: the last page read is full", rows(10, "x", "y"), false, nil, 4},
		{"three active: over the bound", rows(0, "x", "y", "z"), false, nil, 1},
		{"a block in a direct conversation", []*pb.Member{{User: "x", Muted: true}, {User: "y"}}, true, nil, 1},
	} {
		reads := 0
		got, err := typingAudienceOf(pages(c.rows, &reads), 2, c.direct)
		if err != nil || !slices.Equal(got, c.want) || reads != c.reads {
			t.Errorf("%s: %v (%d pages read), %v; want %v in %d", c.name, got, reads, err, c.want, c.reads)
		}
	}
}
