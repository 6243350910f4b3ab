package patch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/bits"

	"github.com/diffah/diffah/lib/exit"
)

// The matcher finds runs that the target shares with the reference, at
// any distance. It hashes every window of hashWindow bytes of the
// reference with a rolling hash and keeps the positions whose hash is an
// anchor (about one in anchorRate), so both sides pick the same
// positions in shared content. A target anchor whose hash is in the
// table is checked byte for byte and extended both ways.
const (
	hashWindow = 32
	// minAnchorRate is the anchor rate for small references; larger
	// ones use a sparser rate so the table stays at most half full.
	minAnchorRate = 16
	maxTableBits  = 24
	// maxLiteral is the longest literal emitted at once.
	maxLiteral = 1 << 20
	offsetBits = 40
	offsetMask = 1<<offsetBits - 1
)

// rollPrime is the multiplier of the polynomial rolling hash.
const rollPrime = 0x100000001b3

// rollOut is rollPrime^hashWindow, to drop the oldest byte.
var rollOut = func() uint64 {
	p := uint64(1)
	for range hashWindow {
		p *= rollPrime
	}
	return p
}()

func mix(h uint64) uint64 {
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return h
}

// refIndex maps anchor hashes to reference offsets.
type refIndex struct {
	ref      io.ReaderAt
	refSize  int64
	table    []uint64 // offset | check<<offsetBits; 0 = empty
	tbits    uint
	rateBits uint
}

// buildIndex reads the whole reference once.
func buildIndex(ctx context.Context, ref io.ReaderAt,
	refSize int64) (*refIndex, error) {

	rateBits := uint(bits.Len(minAnchorRate - 1))
	tbits := uint(10)
	for int64(1)<<tbits < 2*refSize>>rateBits && tbits < maxTableBits {
		tbits++
	}
	for 2*refSize>>rateBits > int64(1)<<tbits {
		rateBits++
	}
	x := &refIndex{ref: ref, refSize: refSize, tbits: tbits,
		rateBits: rateBits}
	if refSize < hashWindow {
		return x, nil
	}
	x.table = make([]uint64, 1<<tbits)

	br := bufio.NewReaderSize(io.NewSectionReader(ref, 0, refSize), 1<<20)
	var win [hashWindow]byte
	if _, err := io.ReadFull(br, win[:]); err != nil {
		return nil, exit.IO(fmt.Errorf("reading reference: %w", err))
	}
	var h uint64
	for _, c := range win {
		h = h*rollPrime + uint64(c)
	}
	for pos := int64(0); ; pos++ {
		x.insert(h, pos)
		if pos&(1<<22-1) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		c, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, exit.IO(fmt.Errorf("reading reference: %w", err))
		}
		i := pos % hashWindow
		h = h*rollPrime + uint64(c) - rollOut*uint64(win[i])
		win[i] = c
	}
	return x, nil
}

func (x *refIndex) anchor(m uint64) bool {
	return m>>(64-x.rateBits) == 0
}

func (x *refIndex) slot(m uint64) uint64 {
	return (m >> 16) & (1<<x.tbits - 1)
}

func check(m uint64) uint64 { return (m >> offsetBits) & 0xffffff }

func (x *refIndex) insert(h uint64, pos int64) {
	m := mix(h)
	if !x.anchor(m) {
		return
	}
	s := x.slot(m)
	if x.table[s] == 0 {
		// Offsets are stored plus one so that 0 means empty.
		x.table[s] = uint64(pos+1) | check(m)<<offsetBits
	}
}

// lookup returns the reference offset stored for rolling hash h.
func (x *refIndex) lookup(h uint64) (int64, bool) {
	m := mix(h)
	if x.table == nil || !x.anchor(m) {
		return 0, false
	}
	e := x.table[x.slot(m)]
	if e == 0 || e>>offsetBits != check(m) {
		return 0, false
	}
	return int64(e&offsetMask) - 1, true
}

// scanner runs the matcher over ranges of the target.
type scanner struct {
	x        *refIndex
	target   io.ReaderAt
	buf      []byte // target bytes from bufStart
	bufStart int64
	a, b     []byte // compare buffers
	delta    int64  // reference minus target offset of the last copy
	hasDelta bool
}

func newScanner(x *refIndex, target io.ReaderAt) *scanner {
	return &scanner{x: x, target: target, buf: make([]byte, 0, 1<<20),
		a: make([]byte, 64<<10), b: make([]byte, 64<<10)}
}

// op is a copy (n > 0 and ref >= 0) or a literal (ref < 0) of the
// target range [t, t+n).
type op struct {
	t, n, ref int64
}

// scan finds copies in target[start:end) and calls emit for every
// literal run and copy, in order. It prefers to go on at the distance
// between target and reference of the last copy (delta): after a
// mismatch it looks for the next place where that delta matches again
// (a substitution), and an anchor that matches both at the delta and
// elsewhere takes the delta.
func (s *scanner) scan(ctx context.Context, start, end int64,
	emit func(op) error) error {

	litStart := start
	t := start
	for end-t >= minResync {
		if err := ctx.Err(); err != nil {
			return err
		}

		// Resynchronise at the last delta within a short distance.
		if s.hasDelta {
			k, n, err := s.resync(t, end)
			if err != nil {
				return err
			}
			if n > 0 {
				if err := emitLiteral(litStart, t+k, emit); err != nil {
					return err
				}
				if err := emit(op{t: t + k, n: n,
					ref: t + k + s.delta}); err != nil {
					return err
				}
				t += k + n
				litStart = t
				continue
			}
		}
		if end-t < hashWindow {
			break
		}

		p, r, ok, err := s.next(t, end)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		fwd, err := s.extendFwd(p, r, end-p)
		if err != nil {
			return err
		}
		if s.hasDelta && r != p+s.delta {
			rd := p + s.delta
			if rd >= 0 && rd < s.x.refSize {
				fd, err := s.extendFwd(p, rd, end-p)
				if err != nil {
					return err
				}
				if fd >= fwd {
					r, fwd = rd, fd
				}
			}
		}
		if fwd < hashWindow {
			// A hash collision: step over the anchor.
			t = p + 1
			continue
		}

		// Extend the match backwards into the pending literal.
		back, err := s.extendBack(p, r, p-litStart)
		if err != nil {
			return err
		}
		if err := emitLiteral(litStart, p-back, emit); err != nil {
			return err
		}
		if err := emit(op{t: p - back, n: back + fwd,
			ref: r - back}); err != nil {
			return err
		}
		s.delta, s.hasDelta = r-p, true
		t = p + fwd
		litStart = t
	}
	return emitLiteral(litStart, end, emit)
}

// Resynchronisation after a mismatch.
const (
	// resyncSpan is how far resync looks for the delta to match again.
	resyncSpan = 512
	// minResync is the shortest run resync turns into a copy.
	minResync = 12
)

// resync looks for the first k < resyncSpan where target[t+k:] matches
// the reference at the last delta for at least minResync bytes, and
// returns k and the length n of that match (n is 0 if none).
func (s *scanner) resync(t, end int64) (k, n int64, err error) {
	r := t + s.delta
	span := min(resyncSpan, end-t, s.x.refSize-r)
	if r < 0 || span < minResync {
		return 0, 0, nil
	}
	a, b := s.a[:span], s.b[:span]
	if err := s.readBoth(a, b, t, r); err != nil {
		return 0, 0, err
	}
	run := int64(0)
	for i := range a {
		if a[i] != b[i] {
			run = 0
			continue
		}
		run++
		if run == minResync {
			k = int64(i) + 1 - minResync
			n, err := s.extendFwd(t+k, r+k, end-t-k)
			return k, n, err
		}
	}
	return 0, 0, nil
}

func emitLiteral(start, end int64, emit func(op) error) error {
	for start < end {
		n := min(end-start, maxLiteral)
		if err := emit(op{t: start, n: n, ref: -1}); err != nil {
			return err
		}
		start += n
	}
	return nil
}

// next rolls the hash from t and returns the first target position p
// (with p+hashWindow <= end) whose window hashes to a reference anchor.
func (s *scanner) next(t, end int64) (p, r int64, ok bool, err error) {
	if s.x.table == nil {
		return 0, 0, false, nil
	}
	if t < s.bufStart || t+hashWindow > s.bufStart+int64(len(s.buf)) {
		if err := s.fill(t, end); err != nil {
			return 0, 0, false, err
		}
	}
	var h uint64
	for _, c := range s.buf[t-s.bufStart : t-s.bufStart+hashWindow] {
		h = h*rollPrime + uint64(c)
	}
	for p = t; ; p++ {
		if r, ok := s.x.lookup(h); ok {
			return p, r, true, nil
		}
		if p+hashWindow >= end {
			return 0, 0, false, nil
		}
		if p+hashWindow >= s.bufStart+int64(len(s.buf)) {
			if err := s.fill(p, end); err != nil {
				return 0, 0, false, err
			}
		}
		i := p - s.bufStart
		h = h*rollPrime + uint64(s.buf[i+hashWindow]) -
			rollOut*uint64(s.buf[i])
	}
}

// fill loads target bytes from t into buf, up to end.
func (s *scanner) fill(t, end int64) error {
	n := min(int64(cap(s.buf)), end-t)
	s.buf = s.buf[:n]
	if err := readAt(s.target, s.buf, t); err != nil {
		return exit.IO(fmt.Errorf("reading target at %d: %w", t, err))
	}
	s.bufStart = t
	return nil
}

// extendFwd counts equal bytes of target[p:] and ref[r:], at most max.
func (s *scanner) extendFwd(p, r, max int64) (int64, error) {
	max = min(max, s.x.refSize-r)
	var n int64
	for chunk := int64(hashWindow * 2); n < max; chunk = int64(len(s.a)) {
		k := min(chunk, max-n)
		a, b := s.a[:k], s.b[:k]
		if err := s.readBoth(a, b, p+n, r+n); err != nil {
			return 0, err
		}
		m := commonPrefix(a, b)
		n += int64(m)
		if m < len(a) {
			break
		}
	}
	return n, nil
}

// extendBack counts equal bytes before target[p] and ref[r], at most max.
func (s *scanner) extendBack(p, r, max int64) (int64, error) {
	max = min(max, r)
	var n int64
	for chunk := int64(256); n < max; chunk = int64(len(s.a)) {
		k := min(chunk, max-n)
		a, b := s.a[:k], s.b[:k]
		if err := s.readBoth(a, b, p-n-k, r-n-k); err != nil {
			return 0, err
		}
		m := commonSuffix(a, b)
		n += int64(m)
		if m < len(a) {
			break
		}
	}
	return n, nil
}

func (s *scanner) readBoth(a, b []byte, t, r int64) error {
	if t >= s.bufStart && t+int64(len(a)) <= s.bufStart+int64(len(s.buf)) {
		copy(a, s.buf[t-s.bufStart:])
	} else if err := readAt(s.target, a, t); err != nil {
		return exit.IO(fmt.Errorf("reading target at %d: %w", t, err))
	}
	if err := readAt(s.x.ref, b, r); err != nil {
		return exit.IO(fmt.Errorf("reading reference at %d: %w", r, err))
	}
	return nil
}

func commonPrefix(a, b []byte) int {
	n := 0
	for len(a)-n >= 8 {
		if x := le64(a[n:]) ^ le64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return n
}

func commonSuffix(a, b []byte) int {
	n := 0
	for n < len(a) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 |
		uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40 |
		uint64(b[6])<<48 | uint64(b[7])<<56
}
