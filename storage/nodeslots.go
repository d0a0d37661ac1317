package storage

import "fmt"

// CheckNodeSlot validates the arguments of ClaimNodeSlot and
// ReleaseNodeSlot: a slot below MaxNodeSlots and a well-formed owner id.
func (l Limits) CheckNodeSlot(slot uint32, owner string) error {
	if slot >= MaxNodeSlots {
		return fmt.Errorf("node slot %d, limit %d: %w", slot, MaxNodeSlots-1, ErrInvalid)
	}
	return l.CheckID("node owner", owner)
}
