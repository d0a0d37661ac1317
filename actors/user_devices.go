package actors

import (
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// The user grain's devices: registration (with the per-user caps), cursors
// and presence.

func (u *user) register(ctx actor.Context, m *pb.RegisterDevice) {
	sender := ctx.Sender()
	if m.Device == "" || len(m.Device) > u.rt.limits.MaxIDBytes {
		respond(ctx, sender, &pb.RegisterDeviceResponse{Error: pbErr(pb.Code_INVALID, "bad device id")})
		return
	}
	if owner := u.rt.Owner(KindUser, u.id); owner != "" && owner != ctx.Self().Address {
		// This activation is moving away (its member's placement stops it
		// at this topology change): a device registered here would be
		// unknown to the new owner's activation, and its pushes would go
		// nowhere until the re-registration sweep. The caller retries and
		// finds the new owner.
		respond(ctx, sender, &pb.RegisterDeviceResponse{Error: pbErr(pb.Code_RETRY, "user %s now lives on %s", u.id, owner)})
		return
	}
	if e := u.checkSuspended(); e != nil {
		respond(ctx, sender, &pb.RegisterDeviceResponse{Error: e})
		return
	}
	if e := u.admitDevice(m.Device); e != nil {
		respond(ctx, sender, &pb.RegisterDeviceResponse{Error: e})
		return
	}
	d := u.devices[m.Device]
	if d == nil {
		d = &device{}
		u.setDevice(m.Device, d)
	}
	if m.Renew && d.conn != nil && d.connAt > m.ConnectedAt && !(d.conn.Address == m.ConnAddress && d.conn.Id == m.ConnId) {
		// A renewal from a connection the device has since replaced (its
		// phone changed networks; the old one lingers until it times
		// out): taking the device back would send its pushes to a dead
		// connection, whose close would then mark the device offline.
		respond(ctx, sender, &pb.RegisterDeviceResponse{Superseded: true, Cursor: d.cursor})
		return
	}
	stamp := m.ConnectedAt
	res := &pb.RegisterDeviceResponse{}
	if !m.Renew {
		// A fresh connection comes after every one the grain has seen of
		// the device, even from a node whose clock is behind.
		stamp = max(stamp, d.connAt+1)
		if u.connected(d) && !(d.conn.Address == m.ConnAddress && d.conn.Id == m.ConnId) {
			// The device's older connection gets no more pushes: the new
			// session ends it, once its own connect has succeeded (a
			// registration that arrives after its connect gave up must
			// not end the connection the device now uses).
			res.ReplacedConnAddress, res.ReplacedConnId = d.conn.Address, d.conn.Id
		}
	}
	d.conn = actor.NewPID(m.ConnAddress, m.ConnId)
	d.connAt = stamp
	d.lastSeen = time.Now()
	u.rt.log.Debug("device registered", "user", u.id, "device", m.Device, "conn", d.conn, "grain", ctx.Self().Id)
	res.Cursor, res.ConnectedAt = d.cursor, stamp
	if e := u.loadAll(); e != nil {
		res.Error = e
	}
	for id, uc := range u.convs {
		if uc.large && uc.member.Active() {
			res.LargeConvs = append(res.LargeConvs, id)
		}
	}
	sort.Strings(res.LargeConvs)
	respond(ctx, sender, res)
}

// unregister takes a device's connection off it (if it is still the one
// registered) and records when the device was last seen, stored with the
// next flush: "last seen" outlives the grain.
func (u *user) unregister(ctx actor.Context, m *pb.UnregisterDevice) {
	if d := u.devices[m.Device]; d != nil && d.conn != nil && d.conn.Id == m.ConnId {
		d.conn = nil
		d.lastSeen = time.Now()
		u.noteCursor(m.Device, d)
		u.scheduleFlush(ctx)
	}
	respond(ctx, ctx.Sender(), &pb.Ack{})
}

// noteCursor queues the device's cursor and last seen for the next flush.
func (u *user) noteCursor(id string, d *device) {
	if u.cursors == nil {
		u.cursors = map[string]storage.Device{}
	}
	u.cursors[id] = storage.Device{DeviceID: id, Cursor: d.cursor, LastSeen: d.lastSeen}
}

// handOffDevices, as the grain stops, asks the members its online devices
// are connected to to register them again: with the activation that
// replaces this one. A registration can reach this activation after the
// new owner's probe went out and before this member saw the topology
// change that stops it; without this, such a device stayed unknown to the
// new activation, its pushes went nowhere, until the re-registration
// sweep. A member that is leaving leaves it to the others' topology
// watches (every grain of it stops at once).
func (u *user) handOffDevices(ctx actor.Context) {
	if u.rt.leaving.Load() {
		return
	}
	var probed []string
	for _, d := range u.devices {
		if !u.connected(d) || slices.Contains(probed, d.conn.Address) {
			continue
		}
		if len(probed) == 0 {
			// The probed sessions must not find this activation again.
			u.rt.cluster.PidCache.RemoveByValue(u.id, KindUser, ctx.Self())
		}
		probed = append(probed, d.conn.Address)
		ctx.Send(actor.NewPID(d.conn.Address, sessionRegistryName), &pb.PresenceProbe{User: u.id})
	}
}

// admitDevice applies the per-user device caps to a device coming online:
// at most MaxOnlineDevices online at once (cluster-wide: this grain sees
// them all), and at most MaxDevices known devices, where a device unseen
// for DeviceExpiry no longer counts (and is forgotten here).
func (u *user) admitDevice(id string) *pb.Error {
	cfg := u.rt.cfg
	online, known := 0, 0
	expired := time.Now().Add(-cfg.DeviceExpiry)
	for did, d := range u.devices {
		switch {
		case u.connected(d):
			online++
			known++
		case d.lastSeen.Before(expired) && did != id:
			delete(u.devices, did)
		default:
			known++
		}
	}
	d := u.devices[id]
	switch {
	case d != nil && d.conn != nil:
		return nil // the same device again (a reconnect or a re-registration)
	case online >= cfg.MaxOnlineDevices:
		return pbErr(pb.Code_TOO_MANY, "%s has %d devices online, limit %d", u.id, online, cfg.MaxOnlineDevices)
	case d == nil && known >= cfg.MaxDevices:
		return pbErr(pb.Code_TOO_MANY, "%s has %d devices, limit %d (a device unseen for %s expires)", u.id, known, cfg.MaxDevices, cfg.DeviceExpiry)
	}
	return nil
}

// ackCursor moves a device's cursor (never backwards, never past what is
// durable) and answers once the next flush wrote it with the rest.
func (u *user) ackCursor(ctx actor.Context, m *pb.AckCursor) {
	sender := ctx.Sender()
	if m.Device == "" || len(m.Device) > u.rt.limits.MaxIDBytes {
		respond(ctx, sender, &pb.Ack{Error: pbErr(pb.Code_INVALID, "bad device id")})
		return
	}
	cursor := min(m.Cursor, u.inboxSeq-uint64(len(u.unflushed)))
	d := u.devices[m.Device]
	if d == nil {
		d = &device{}
		u.setDevice(m.Device, d)
	}
	d.cursor = max(d.cursor, cursor)
	d.lastSeen = time.Now()
	u.noteCursor(m.Device, d)
	u.afterFlush = append(u.afterFlush, ackWaiter(ctx, sender, nil))
	u.scheduleFlush(ctx)
}

// connected reports whether the device is online at a member of the
// cluster. A device whose node left the cluster (it died, or is cut off)
// is marked offline: its session is gone or out of reach, and registers
// again if it comes back. Sending to it would only start a remoting
// connection to a dead address, which at the pinned protoactor version
// fails and then holds every message to that address for 2 s — including,
// when the node is restarted on the same address, those to the new
// process (requests to its grains then time out).
func (u *user) connected(d *device) bool {
	if d.conn != nil && !u.rt.isMember(d.conn.Address) {
		u.rt.log.Debug("device offline: its node is not a member", "user", u.id, "conn", d.conn)
		d.conn = nil
	}
	return d.conn != nil
}

func (u *user) presence(ctx actor.Context, m *pb.Presence) {
	res := &pb.PresenceResponse{}
	var seen time.Time
	for id, d := range u.devices {
		if u.connected(d) {
			res.Devices = append(res.Devices, &pb.PresenceResponse_Device{Device: id, ConnAddress: d.conn.Address})
		}
		if d.lastSeen.After(seen) {
			seen = d.lastSeen
		}
	}
	if len(res.Devices) == 0 && !seen.IsZero() {
		res.LastSeenMs = seen.UnixMilli()
	}
	sort.Slice(res.Devices, func(i, j int) bool { return res.Devices[i].Device < res.Devices[j].Device })
	if m.ForOther {
		var e *pb.Error
		if res, e = u.shownPresence(res); e != nil {
			res = &pb.PresenceResponse{Error: e}
		}
	}
	respond(ctx, ctx.Sender(), res)
}
