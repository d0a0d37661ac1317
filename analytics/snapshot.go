package analytics

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strings"
)

// ErrBadSnapshot is wrapped by Restore when the bytes are not a snapshot
// this engine can load.
var ErrBadSnapshot = errors.New("metrics: bad snapshot")

// The snapshot is a versioned varint encoding followed by a CRC-32C of
// everything before it. Maps are written in sorted order and agents by name,
// so equal states give equal bytes whatever order events were seen in.
const snapshotMagic = "SBM\x07"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot encodes the whole state: config, counters, per-conversation
// state (seq consumed, newest event time, open span, pending questions, open
// sessions, the last rated session) and every aggregate.
func (e *Engine) Snapshot() ([]byte, error) {
	b := make([]byte, 0, 64+len(e.convs)*32+len(e.aggs)*24)
	b = append(b, snapshotMagic...)

	b = appendInts(b, e.future, e.ooo, e.lateness, e.threshold, e.gap)
	b = binary.AppendUvarint(b, uint64(len(e.specs)))
	for _, s := range e.specs {
		b = appendInts(b, s.size, s.slide)
	}
	b = appendString(b, e.cfg.zoneName())
	b = binary.AppendUvarint(b, e.late)
	b = binary.AppendUvarint(b, e.futureN)
	b = binary.AppendVarint(b, e.maxT)

	// Agents and line keys by name; rank 0 is AllKey.
	names := slices.Clone(e.keys[1:])
	slices.Sort(names)
	rank := make([]uint32, len(e.keys))
	for r, n := range names {
		rank[e.keyIDs[n]] = uint32(r + 1)
	}
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = appendString(b, n)
	}

	ids := make([]string, 0, len(e.convs))
	for id := range e.convs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = appendConv(b, id, e.convs[id], rank)
	}

	keys := make([]aggKey, 0, len(e.aggs))
	for k := range e.aggs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y aggKey) int {
		return cmp.Or(cmp.Compare(x.spec, y.spec), cmp.Compare(rank[x.key], rank[y.key]), cmp.Compare(x.start, y.start))
	})
	b = binary.AppendUvarint(b, uint64(len(keys)))
	var prev aggKey
	for i, k := range keys {
		// Starts are deltas within a (family, key) run.
		base := int64(0)
		if i > 0 && prev.spec == k.spec && prev.key == k.key {
			base = prev.start
		}
		b = binary.AppendUvarint(b, uint64(k.spec))
		b = binary.AppendUvarint(b, uint64(rank[k.key]))
		b = binary.AppendVarint(b, k.start-base)
		a := e.aggs[k]
		b = appendUints(b, a.questions, a.timely, a.msgQuestions, a.msgTimely, a.sessions, a.sessMsgs, a.frtCount)
		b = appendInts(b, a.respSum, a.msgRespSum, a.sessSum, a.frtSum)
		b = appendUints(b, a.queueWaits, uint64(a.queueWaitSum), a.abandoned)
		b = appendUints(b, a.ratings, a.ratingSum, a.satisfied)
		b = appendUints(b, a.deskFirst, a.deskFirstTimely, uint64(a.deskFirstSum))
		b = appendUints(b, a.handled, a.resolved, uint64(a.handleSum))
		b = appendUints(b, a.missed)
		prev = k
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

const (
	convHasNewest = 1 << iota
	convSpanOpen
	convHasSince
	convHasAsked
	convHasClockFrom
)

const (
	sessFirstCustomer = 1 << iota
	sessHasCustomer
	sessHasAgent
	sessHasOwner
)

func appendConv(b []byte, id string, cs *convState, rank []uint32) []byte {
	b = appendString(b, id)
	b = binary.AppendUvarint(b, cs.lastSeq)
	b = binary.AppendUvarint(b, uint64(rank[cs.line]))
	b = binary.AppendUvarint(b, uint64(rank[cs.owner]))
	b = appendString(b, cs.rated)
	b = append(b, byte(cs.deskPhase))
	b = binary.AppendUvarint(b, uint64(cs.target))
	b = appendString(b, cs.hours)
	var flags byte
	if cs.hasNewest {
		flags |= convHasNewest
	}
	if cs.spanOpen {
		flags |= convSpanOpen
	}
	if cs.hasSince {
		flags |= convHasSince
	}
	if cs.hasAsked {
		flags |= convHasAsked
	}
	if cs.hasClockFrom {
		flags |= convHasClockFrom
	}
	b = append(b, flags)
	if cs.hasNewest {
		b = binary.AppendVarint(b, cs.newest)
	}
	if cs.spanOpen {
		b = binary.AppendVarint(b, cs.spanStart)
	}
	if cs.hasSince {
		b = binary.AppendVarint(b, cs.since)
	}
	if cs.hasAsked {
		b = binary.AppendVarint(b, cs.asked)
	}
	if cs.hasClockFrom {
		b = binary.AppendVarint(b, cs.clockFrom)
	}
	b = binary.AppendUvarint(b, uint64(len(cs.pending)))
	prev := int64(0)
	for _, p := range cs.pending {
		b = binary.AppendVarint(b, p-prev)
		prev = p
	}
	b = binary.AppendUvarint(b, uint64(len(cs.sessions)))
	for i := range cs.sessions {
		s := &cs.sessions[i]
		var f byte
		if s.firstCustomer {
			f |= sessFirstCustomer
		}
		if s.custFirst != none {
			f |= sessHasCustomer
		}
		if s.agentFirst != none {
			f |= sessHasAgent
		}
		if s.owner != 0 {
			f |= sessHasOwner
		}
		b = append(b, f)
		b = binary.AppendVarint(b, s.first)
		b = appendUints(b, uint64(s.last-s.first), s.msgs)
		if s.custFirst != none {
			b = binary.AppendUvarint(b, uint64(s.custFirst-s.first))
		}
		if s.agentFirst != none {
			b = appendUints(b, uint64(s.agentFirst-s.first), uint64(rank[s.agent]))
		}
		if s.owner != 0 {
			b = appendUints(b, uint64(s.ownerAt-s.first), uint64(rank[s.owner]))
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendInts(b []byte, vs ...int64) []byte {
	for _, v := range vs {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func appendUints(b []byte, vs ...uint64) []byte {
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// Restore replaces the engine's state with a snapshot taken by an engine
// with the same Config. On error the engine is left unchanged.
func (e *Engine) Restore(data []byte) error {
	if len(data) < len(snapshotMagic)+4 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return fmt.Errorf("%w: not a version 7 metrics snapshot", ErrBadSnapshot)
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return fmt.Errorf("%w: checksum mismatch", ErrBadSnapshot)
	}
	d := decoder{b: body[len(snapshotMagic):]}
	st, err := d.state(e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	e.convs, e.keyIDs, e.keys, e.aggs = st.convs, st.keyIDs, st.keys, st.aggs
	e.late, e.futureN, e.maxT = st.late, st.futureN, st.maxT
	e.resetCache()
	return nil
}

// restored is a decoded snapshot before it replaces the engine's state.
type restored struct {
	convs         map[string]*convState
	keyIDs        map[string]uint32
	keys          []string
	aggs          map[aggKey]*agg
	late, futureN uint64
	maxT          int64
}

// decoder reads varints and remembers the first error, so the parsing code
// reads straight through and checks once per structure.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated or overlong varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// time reads a varint that must be a valid event time in ms.
func (d *decoder) time() int64 {
	v := d.varint()
	if v > maxAbsMillis || v < -maxAbsMillis {
		d.fail("time %d out of range", v)
		return 0
	}
	return v
}

// span reads a non-negative offset within the range of event times.
func (d *decoder) span() int64 {
	v := d.uvarint()
	if v > 2*maxAbsMillis {
		d.fail("offset %d out of range", v)
		return 0
	}
	return int64(v)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads a length; every element takes at least one byte, which
// bounds allocations by the input size.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail("count %d exceeds the remaining %d bytes", v, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) state(e *Engine) (*restored, error) {
	// Every config field is read even after a mismatch, to stay in step.
	same := true
	for _, want := range []int64{e.future, e.ooo, e.lateness, e.threshold, e.gap} {
		same = d.varint() == want && same
	}
	if n := d.count(); n != len(e.specs) {
		same = false
	} else {
		for _, s := range e.specs {
			same = d.varint() == s.size && same
			same = d.varint() == s.slide && same
		}
	}
	same = d.string() == e.cfg.zoneName() && same
	if d.err != nil {
		return nil, d.err
	}
	if !same {
		return nil, errors.New("taken with a different config")
	}
	st := &restored{
		convs:  make(map[string]*convState),
		keyIDs: map[string]uint32{AllKey: 0},
		keys:   []string{AllKey},
		aggs:   make(map[aggKey]*agg),
	}
	st.late, st.futureN = d.uvarint(), d.uvarint()
	st.maxT = d.varint()
	if st.maxT != math.MinInt64 && (st.maxT > maxAbsMillis || st.maxT < -maxAbsMillis) {
		d.fail("newest time %d out of range", st.maxT)
	}

	for range d.count() {
		n := d.string()
		sorted := len(st.keys) == 1 || n > st.keys[len(st.keys)-1]
		if d.err == nil && (n == "" || n == AllKey || !sorted) {
			d.fail("agent ids not sorted and distinct")
		}
		st.keyIDs[n] = uint32(len(st.keys))
		st.keys = append(st.keys, n)
	}
	prevConv := ""
	for range d.count() {
		id := d.string()
		if d.err == nil && id <= prevConv {
			d.fail("conversation ids not sorted and distinct")
		}
		prevConv = id
		cs := d.conv(e.gap, st.keys)
		if d.err != nil {
			return nil, d.err
		}
		st.convs[id] = cs
	}
	var prev aggKey
	for i := range d.count() {
		sp, key := d.uvarint(), d.uvarint()
		if d.err == nil && (sp >= uint64(len(e.specs)) || key >= uint64(len(st.keys))) {
			d.fail("aggregate refers to family %d key %d", sp, key)
		}
		k := aggKey{spec: uint16(sp), key: uint32(key)}
		base := int64(0)
		if i > 0 && prev.spec == k.spec && prev.key == k.key {
			base = prev.start
		}
		k.start = base + d.varint()
		if d.err == nil && (k.start > maxAbsMillis || k.start < -maxAbsMillis || (i > 0 && cmpAggKey(prev, k) >= 0)) {
			d.fail("aggregates not sorted or out of range")
		}
		a := &agg{}
		a.questions, a.timely, a.msgQuestions, a.msgTimely = d.uvarint(), d.uvarint(), d.uvarint(), d.uvarint()
		a.sessions, a.sessMsgs, a.frtCount = d.uvarint(), d.uvarint(), d.uvarint()
		a.respSum, a.msgRespSum, a.sessSum, a.frtSum = d.varint(), d.varint(), d.varint(), d.varint()
		a.queueWaits, a.queueWaitSum, a.abandoned = d.uvarint(), int64(d.uvarint()), d.uvarint()
		if d.err == nil && a.queueWaitSum < 0 {
			d.fail("queue wait sum out of range")
		}
		a.ratings, a.ratingSum, a.satisfied = d.uvarint(), d.uvarint(), d.uvarint()
		if d.err == nil && (a.satisfied > a.ratings || a.ratings > math.MaxUint64/MaxScore ||
			a.ratingSum < a.ratings*MinScore || a.ratingSum > a.ratings*MaxScore) {
			d.fail("ratings %d, score sum %d, satisfied %d", a.ratings, a.ratingSum, a.satisfied)
		}
		a.deskFirst, a.deskFirstTimely, a.deskFirstSum = d.uvarint(), d.uvarint(), int64(d.uvarint())
		if d.err == nil && (a.deskFirstTimely > a.deskFirst || a.deskFirstSum < 0) {
			d.fail("first responses %d, timely %d, sum %d", a.deskFirst, a.deskFirstTimely, a.deskFirstSum)
		}
		a.handled, a.resolved, a.handleSum = d.uvarint(), d.uvarint(), int64(d.uvarint())
		if d.err == nil && (a.resolved > a.handled || a.handleSum < 0) {
			d.fail("handled %d, resolved %d, sum %d", a.handled, a.resolved, a.handleSum)
		}
		a.missed = d.uvarint()
		if d.err != nil {
			return nil, d.err
		}
		st.aggs[k] = a
		prev = k
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return st, nil
}

func cmpAggKey(x, y aggKey) int {
	return cmp.Or(cmp.Compare(x.spec, y.spec), cmp.Compare(x.key, y.key), cmp.Compare(x.start, y.start))
}

func (d *decoder) conv(gap int64, keys []string) *convState {
	nkeys := uint64(len(keys))
	isLine := func(k uint64) bool { return k > 0 && k < nkeys && strings.HasPrefix(keys[k], LinePrefix) }
	cs := &convState{lastSeq: d.uvarint()}
	if l := d.uvarint(); l != 0 {
		if !isLine(l) {
			d.fail("conversation line %d is not a line key", l)
		}
		cs.line = uint32(l)
	}
	isAgent := func(k uint64) bool { return k > 0 && k < nkeys && !isLine(k) }
	if o := d.uvarint(); o != 0 {
		if !isAgent(o) {
			d.fail("conversation owner %d is not an agent key", o)
		}
		cs.owner = uint32(o)
	}
	if cs.rated = d.string(); len(cs.rated) > maxSessionLen {
		d.fail("rated session id of %d bytes", len(cs.rated))
	}
	if cs.deskPhase = deskPhase(d.byte()); cs.deskPhase > deskClosed {
		d.fail("unknown desk phase %d", cs.deskPhase)
	}
	if t := d.uvarint(); t <= maxWaitMs {
		cs.target = int64(t)
	} else {
		d.fail("first-response target %d ms", t)
	}
	if cs.hours = d.string(); len(cs.hours) > maxHoursLen {
		d.fail("hours of %d bytes", len(cs.hours))
	}
	flags := d.byte()
	if flags&^(convHasNewest|convSpanOpen|convHasSince|convHasAsked|convHasClockFrom) != 0 {
		d.fail("unknown conversation flags %#x", flags)
	}
	if flags&convHasNewest != 0 {
		cs.newest, cs.hasNewest = d.time(), true
	}
	if flags&convSpanOpen != 0 {
		cs.spanStart, cs.spanOpen = d.time(), true
	}
	if flags&convHasSince != 0 {
		cs.since, cs.hasSince = d.time(), true
	}
	if flags&convHasAsked != 0 {
		cs.asked, cs.hasAsked = d.time(), true
	}
	if flags&convHasClockFrom != 0 {
		cs.clockFrom, cs.hasClockFrom = d.time(), true
	}
	n := d.count()
	if n > 0 {
		cs.pending = make([]int64, 0, n)
	}
	prev := int64(0)
	for range n {
		prev += d.varint()
		if prev > maxAbsMillis || prev < -maxAbsMillis {
			d.fail("pending time out of range")
		}
		cs.pending = append(cs.pending, prev)
	}
	n = d.count()
	if n > 0 {
		cs.sessions = make([]session, 0, n)
	}
	for i := range n {
		f := d.byte()
		if f&^(sessFirstCustomer|sessHasCustomer|sessHasAgent|sessHasOwner) != 0 {
			d.fail("unknown session flags %#x", f)
		}
		s := session{first: d.time(), custFirst: none, agentFirst: none, firstCustomer: f&sessFirstCustomer != 0}
		s.last = s.first + d.span()
		s.msgs = d.uvarint()
		if f&sessHasCustomer != 0 {
			s.custFirst = s.first + d.span()
		}
		if f&sessHasAgent != 0 {
			s.agentFirst = s.first + d.span()
			k := d.uvarint()
			if !isAgent(k) {
				d.fail("session agent %d unknown", k)
			}
			s.agent = uint32(k)
		}
		if f&sessHasOwner != 0 {
			s.ownerAt = s.first + d.span()
			k := d.uvarint()
			if !isAgent(k) {
				d.fail("session owner %d unknown", k)
			}
			s.owner = uint32(k)
		}
		if s.last > maxAbsMillis || (i > 0 && s.first <= cs.sessions[i-1].last+gap) {
			d.fail("open sessions out of order")
		}
		cs.sessions = append(cs.sessions, s)
	}
	return cs
}
