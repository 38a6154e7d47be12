package dataset

import (
	"cmp"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/recotem/recotem/internal/recipe"
	"github.com/recotem/recotem/trainer/source"
)

// builder is the source.ParallelSink of Ingest. A source feeds it either
// row by row (Row) or in chunks on several workers (Chunk). Each worker
// interns ids into its own dictionaries, with no lock and no allocation
// per row; finish sorts each worker's ids, merges them into the id maps
// (ascending byte order) and writes the rows in seq order. The result does
// not depend on how the rows were cut into chunks or spread over workers.
type builder struct {
	dropNull   bool
	hasTime    bool
	timeColumn string
	unit       int64 // ns per time unit; 0 = not configured

	mu     sync.Mutex
	dicts  []*dicts // per worker
	chunks []*chunk // by seq
	last   []*chunk // per worker: its current chunk
	hint   int      // rows of the last completed chunk, to size the next
	serial *chunk   // the one chunk of a source that calls Row
}

// dicts are one worker's id dictionaries.
type dicts struct{ users, items idDict }

// chunk holds one chunk's rows, with ids local to its worker's dicts.
type chunk struct {
	b         *builder
	d         *dicts
	w, seq    int
	u, i      []int32
	t         []int64
	fetched   int // rows received (nulls included)
	nullDrops int
	tp        timeParser
	scratch   []byte
	// Ids waiting for their lookup, resolved a batch at a time (flush).
	pu, pi []pendingID
}

// pendingID is an id whose key alone identifies it (a number, or a text
// of at most 8 bytes), so its lookup can wait until the row's bytes are
// gone: pos is its row in the chunk.
type pendingID struct {
	key uint64
	n   uint32 // text length, or numKey
	pos int32
}

// numKey marks a pendingID that holds a number.
const numKey = 1 << 30

// lookupBatch is how many rows' ids wait before a flush. Looking up a
// batch at once lets the cache misses of its table reads overlap, which
// is most of the cost of interning ids from large dictionaries.
const lookupBatch = 32

func newBuilder(r *recipe.Recipe) *builder {
	b := &builder{dropNull: r.Cleansing.DropNullIDs}
	if r.Schema.TimeColumn != nil {
		b.hasTime = true
		b.timeColumn = *r.Schema.TimeColumn
		if r.Schema.TimeUnit != nil {
			b.unit = unitNanos(*r.Schema.TimeUnit)
		}
	}
	return b
}

// Chunk implements source.ParallelSink.
func (b *builder) Chunk(w, seq int) source.Sink {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.dicts) <= w {
		b.dicts = append(b.dicts, &dicts{users: newIDDict(), items: newIDDict()})
	}
	for len(b.chunks) <= seq {
		b.chunks = append(b.chunks, nil)
	}
	for len(b.last) <= w {
		b.last = append(b.last, nil)
	}
	// Worker w's previous chunk is complete (and this is worker w's
	// goroutine): finish its lookups, and size this chunk like it, with a
	// little room, so appends rarely reallocate.
	if p := b.last[w]; p != nil {
		p.flush()
		b.hint = len(p.u) + len(p.u)/16 + 64
	}
	c := &chunk{b: b, d: b.dicts[w], w: w, seq: seq, tp: timeParser{column: b.timeColumn, unit: b.unit}}
	if b.hint > 0 {
		c.u, c.i = make([]int32, 0, b.hint), make([]int32, 0, b.hint)
		if b.hasTime {
			c.t = make([]int64, 0, b.hint)
		}
	}
	b.chunks[seq] = c
	b.last[w] = c
	return c
}

// Row implements source.Sink for sources that do not cut chunks.
func (b *builder) Row(v []source.Value) error {
	if b.serial == nil {
		b.serial = b.Chunk(0, 0).(*chunk)
	}
	return b.serial.Row(v)
}

// Row implements source.Sink.
func (c *chunk) Row(v []source.Value) error {
	c.fetched++
	if v[0].Kind == source.Null || v[1].Kind == source.Null {
		if c.b.dropNull {
			c.nullDrops++
			return nil
		}
	}
	if c.b.hasTime {
		ts, err := c.tp.parse(v[2], c.fetched)
		if err != nil {
			var re *rowError
			if errors.As(err, &re) {
				re.seq = c.seq
			}
			return err
		}
		c.t = append(c.t, ts)
	}
	pos := int32(len(c.u))
	var u, it int32
	if p, ok := c.d.users.pending(v[0], &c.scratch); ok {
		p.pos = pos
		c.pu = append(c.pu, p)
	} else {
		u = c.d.users.intern(v[0], &c.scratch)
	}
	if p, ok := c.d.items.pending(v[1], &c.scratch); ok {
		p.pos = pos
		c.pi = append(c.pi, p)
	} else {
		it = c.d.items.intern(v[1], &c.scratch)
	}
	c.u = append(c.u, u)
	c.i = append(c.i, it)
	if len(c.pu) >= lookupBatch || len(c.pi) >= lookupBatch {
		c.flush()
	}
	return nil
}

// flush resolves the pending ids.
func (c *chunk) flush() {
	c.d.users.resolve(c.pu, c.u)
	c.d.items.resolve(c.pi, c.i)
	c.pu, c.pi = c.pu[:0], c.pi[:0]
}

// rowError is a time parse failure at a row counted within its chunk;
// resolve turns it into the failure naming the data row of the source.
type rowError struct {
	seq, row int
	column   string
	why      string
}

func (e *rowError) Error() string {
	return "time_column_parse_error: time column " + strconv.Quote(e.column) + ", chunk " + strconv.Itoa(e.seq) + " row " + strconv.Itoa(e.row) + ": " + e.why
}

// resolve rewrites a rowError with the row's number in the whole source.
// Every chunk before the failing one is complete (the ParallelSink
// contract), so their row counts are final.
func (b *builder) resolve(err error) error {
	var re *rowError
	if !errors.As(err, &re) {
		return err
	}
	row := re.row
	for _, c := range b.chunks[:re.seq] {
		if c != nil {
			row += c.fetched
		}
	}
	return timeFailure(re.column, row, re.why)
}

// finish builds the Interactions: id maps in ascending byte order, rows
// in source order with ids renumbered to match.
func (b *builder) finish() *Interactions {
	for _, c := range b.last {
		if c != nil {
			c.flush()
		}
	}
	users := make([]*idDict, len(b.dicts))
	items := make([]*idDict, len(b.dicts))
	for w, d := range b.dicts {
		users[w], items[w] = &d.users, &d.items
	}
	var userIDs, itemIDs []string
	var userRank, itemRank [][]int32
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); userIDs, userRank = mergeIDs(users) }()
	go func() { defer wg.Done(); itemIDs, itemRank = mergeIDs(items) }()
	wg.Wait()

	d := &Interactions{UserIDs: userIDs, ItemIDs: itemIDs}
	offsets := make([]int, len(b.chunks)+1)
	for k, c := range b.chunks {
		n := 0
		if c != nil {
			n = len(c.u)
			d.NRowsFetched += c.fetched
		}
		offsets[k+1] = offsets[k] + n
	}
	n := offsets[len(b.chunks)]
	if len(b.chunks) == 1 && b.chunks[0] != nil {
		// One chunk (a source that calls Row): renumber its rows in place.
		c := b.chunks[0]
		ur, ir := userRank[c.w], itemRank[c.w]
		const piece = 1 << 20
		parallelFor((n+piece-1)/piece, func(k int) {
			lo, hi := k*piece, min(n, (k+1)*piece)
			for j := lo; j < hi; j++ {
				c.u[j], c.i[j] = ur[c.u[j]], ir[c.i[j]]
			}
		})
		d.User, d.Item = slices.Clip(c.u), slices.Clip(c.i)
		if b.hasTime {
			d.Time = slices.Clip(c.t)
			if d.Time == nil {
				d.Time = []int64{}
			}
		}
		c.u, c.i, c.t = nil, nil, nil
		if n == 0 {
			d.User, d.Item = nil, nil // as the rows of no row always were
		}
		return d
	}
	if n > 0 {
		d.User, d.Item = make([]int32, n), make([]int32, n)
	}
	if b.hasTime {
		d.Time = make([]int64, n)
	}
	parallelFor(len(b.chunks), func(k int) {
		c := b.chunks[k]
		if c == nil {
			return
		}
		off := offsets[k]
		ur, ir := userRank[c.w], itemRank[c.w]
		dst := d.User[off : off+len(c.u)]
		for j, x := range c.u {
			dst[j] = ur[x]
		}
		dst = d.Item[off : off+len(c.i)]
		for j, x := range c.i {
			dst[j] = ir[x]
		}
		if b.hasTime {
			copy(d.Time[off:], c.t)
		}
		c.u, c.i, c.t = nil, nil, nil
	})
	return d
}

func (b *builder) nullDrops() int {
	n := 0
	for _, c := range b.chunks {
		if c != nil {
			n += c.nullDrops
		}
	}
	return n
}

// parallelFor runs f(0..n-1) on GOMAXPROCS goroutines.
func parallelFor(n int, f func(k int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for k := range n {
			f(k)
		}
		return
	}
	var next sync.Mutex
	k := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := k
				k++
				next.Unlock()
				if j >= n {
					return
				}
				f(j)
			}
		}()
	}
	wg.Wait()
}

// idText renders an id as its string form (ids are always strings).
// A null id kept with drop_null_ids: false reads "nan", as upstream's
// str(NaN) does.
func idText(dst []byte, v source.Value) []byte {
	switch v.Kind {
	case source.String:
		return append(dst, v.Str...)
	case source.Int, source.Time:
		return strconv.AppendInt(dst, v.Int, 10)
	case source.Float:
		return strconv.AppendFloat(dst, v.Float, 'g', -1, 64)
	case source.Bool:
		if v.Int != 0 {
			return append(dst, "True"...)
		}
		return append(dst, "False"...)
	}
	return append(dst, "nan"...)
}

// denseMax bounds the ids kept in a dictionary's direct table: canonical
// decimal ids below it are looked up by index, larger ones by map.
const denseMax = 1 << 22

// idDict interns id texts in first-seen order. A canonical decimal text
// (digits, no leading zero) is keyed by its value — in a direct table
// while small — and any other text by its bytes (textTable); the two key
// spaces never meet, since a number has exactly one canonical text. Texts
// live in an arena, so a new id costs no allocation of its own and a known
// one costs no allocation at all.
type idDict struct {
	text    textTable
	num     map[uint64]int32
	dense   []int32 // dense[v] = local id + 1; 0 = not seen
	ids     []string
	arena   []byte
	touched uint64 // keeps resolve's early reads
}

func newIDDict() idDict { return idDict{num: map[uint64]int32{}} }

func (t *idDict) intern(v source.Value, scratch *[]byte) int32 {
	switch v.Kind {
	case source.String:
		return t.internText(v.Str)
	case source.Int:
		if v.Int >= 0 {
			return t.internNum(uint64(v.Int))
		}
	}
	*scratch = idText((*scratch)[:0], v)
	return t.internText(*scratch)
}

// pending returns v's key if the key alone identifies it.
func (t *idDict) pending(v source.Value, scratch *[]byte) (pendingID, bool) {
	b := v.Str
	switch v.Kind {
	case source.String:
	case source.Int:
		if v.Int >= 0 {
			return pendingID{key: uint64(v.Int), n: numKey}, true
		}
		fallthrough
	default:
		*scratch = idText((*scratch)[:0], v)
		b = *scratch
	}
	if n, ok := canonicalUint(b); ok {
		return pendingID{key: n, n: numKey}, true
	}
	if len(b) > 8 {
		return pendingID{}, false
	}
	return pendingID{key: shortKey(b), n: uint32(len(b))}, true
}

// resolve looks the pending ids up and writes their local ids to dst.
func (t *idDict) resolve(p []pendingID, dst []int32) {
	if len(p) == 0 {
		return
	}
	// Read each id's slot first: independent loads, whose cache misses
	// overlap; the lookups that follow then mostly hit the cache.
	var touch uint64
	mask := uint64(len(t.text.slots) - 1)
	for _, e := range p {
		if e.n == numKey {
			if e.key < uint64(len(t.dense)) {
				touch += uint64(t.dense[e.key])
			}
		} else if len(t.text.slots) > 0 {
			touch += t.text.slots[slotHash(e.key, e.n)&mask].key
		}
	}
	t.touched += touch
	for _, e := range p {
		if e.n == numKey {
			dst[e.pos] = t.internNum(e.key)
		} else {
			dst[e.pos] = t.text.lookup(e.key, e.n, nil, t)
		}
	}
}

func (t *idDict) internText(b []byte) int32 {
	if n, ok := canonicalUint(b); ok {
		return t.internNum(n)
	}
	return t.text.intern(b, t)
}

// add gives text b the next local id.
func (t *idDict) add(b []byte) int32 {
	k := int32(len(t.ids))
	t.ids = append(t.ids, t.store(b))
	return k
}

// addShort adds the text of length n ≤ 8 whose bytes are key.
func (t *idDict) addShort(key uint64, n uint32) int32 {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], key)
	return t.add(buf[:n])
}

func (t *idDict) internNum(n uint64) int32 {
	if n < uint64(len(t.dense)) {
		if k := t.dense[n]; k != 0 {
			return k - 1
		}
	} else {
		if k, ok := t.num[n]; ok {
			return k
		}
		if n < denseMax && n < 16*uint64(len(t.ids))+4096 {
			t.growDense(n)
		}
	}
	var buf [20]byte
	k := t.add(strconv.AppendUint(buf[:0], n, 10))
	if n < uint64(len(t.dense)) {
		t.dense[n] = k + 1
	} else {
		t.num[n] = k
	}
	return k
}

// growDense extends the direct table past n and moves the numbers it now
// covers out of the map (a number is in exactly one of the two). The
// table only grows while the ids are dense enough to fill a good part of
// it, so a few large numbers never cost a large table.
func (t *idDict) growDense(n uint64) {
	size := int(max(n+1, 2*uint64(len(t.dense)), 1024))
	t.dense = slices.Grow(t.dense, size-len(t.dense))
	t.dense = t.dense[:cap(t.dense)]
	for v, k := range t.num {
		if v < uint64(len(t.dense)) {
			t.dense[v] = k + 1
			delete(t.num, v)
		}
	}
}

// textTable maps id texts to local ids: open addressing, linear probing,
// at most half full. A text of up to 8 bytes is its own key (its bytes
// zero-padded, plus its length), so finding it reads one slot and nothing
// else; a longer text is keyed by its hash and checked against the stored
// text.
type textTable struct {
	slots []textSlot
	count int
}

type textSlot struct {
	key uint64 // short text: its bytes, little-endian, zero-padded; long: its hash
	n   uint32 // text length, longFlag set for a long text
	id  int32  // local id + 1; 0 = empty slot
}

const longFlag = 1 << 31

var textSeed = maphash.MakeSeed()

func (h *textTable) intern(b []byte, d *idDict) int32 {
	if len(b) > 8 {
		return h.lookup(maphash.Bytes(textSeed, b), uint32(len(b))|longFlag, b, d)
	}
	return h.lookup(shortKey(b), uint32(len(b)), b, d)
}

// shortKey is a text of at most 8 bytes as a number: its bytes,
// little-endian, zero-padded.
func shortKey(b []byte) uint64 {
	switch {
	case len(b) >= 4:
		return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))<<(8*(len(b)-4))
	case len(b) > 0:
		return uint64(b[0]) | uint64(b[len(b)/2])<<(8*(len(b)/2)) | uint64(b[len(b)-1])<<(8*(len(b)-1))
	}
	return 0
}

// lookup finds or adds the text of (key, n); b is the text, or nil for a
// short one (the key holds its bytes).
func (h *textTable) lookup(key uint64, n uint32, b []byte, d *idDict) int32 {
	if 2*(h.count+1) > len(h.slots) {
		h.grow()
	}
	mask := uint64(len(h.slots) - 1)
	for i := slotHash(key, n) & mask; ; i = (i + 1) & mask {
		s := &h.slots[i]
		if s.id == 0 {
			var k int32
			if b == nil {
				k = d.addShort(key, n)
			} else {
				k = d.add(b)
			}
			*s = textSlot{key: key, n: n, id: k + 1}
			h.count++
			return k
		}
		if s.key == key && s.n == n && (n&longFlag == 0 || d.ids[s.id-1] == string(b)) {
			return s.id - 1
		}
	}
}

func (h *textTable) grow() {
	old := h.slots
	h.slots = make([]textSlot, max(2*len(old), 1024))
	mask := uint64(len(h.slots) - 1)
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		i := slotHash(s.key, s.n) & mask
		for h.slots[i].id != 0 {
			i = (i + 1) & mask
		}
		h.slots[i] = s
	}
}

func slotHash(key uint64, n uint32) uint64 {
	hi, lo := bits.Mul64(key^0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9^uint64(n))
	return hi ^ lo
}

// store copies b into the arena and returns it as a string.
func (t *idDict) store(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > 1024 {
		return string(b)
	}
	if len(b) > cap(t.arena)-len(t.arena) {
		t.arena = make([]byte, 0, 64<<10) // the old block stays alive through its strings
	}
	start := len(t.arena)
	t.arena = append(t.arena, b...)
	return unsafe.String(&t.arena[start], len(b))
}

// canonicalUint parses b if it is the canonical decimal text of a uint64:
// digits only, no sign, no leading zero (except "0" itself).
func canonicalUint(b []byte) (uint64, bool) {
	if len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	return digits(b, 19)
}

// digits parses b if it is 1 to most ASCII digits (most ≤ 19: no overflow).
func digits(b []byte, most int) (uint64, bool) {
	if len(b) == 0 || len(b) > most {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// mergeIDs sorts each dictionary's ids and merges them into one ascending
// list of distinct ids; rank[w][local id] is the position in it.
func mergeIDs(dicts []*idDict) ([]string, [][]int32) {
	type sorted struct {
		ids  []string
		rank []int32 // local id → position in ids
	}
	parts := make([]sorted, len(dicts))
	parallelFor(len(dicts), func(w int) {
		t := dicts[w]
		// Sort by the first 8 bytes (big-endian, zero-padded: their
		// order is the texts' order where they differ), then by text.
		type keyed struct {
			pre   uint64
			local int32
		}
		order := make([]keyed, len(t.ids))
		for k, id := range t.ids {
			var pre [8]byte
			copy(pre[:], id)
			order[k] = keyed{binary.BigEndian.Uint64(pre[:]), int32(k)}
		}
		slices.SortFunc(order, func(a, b keyed) int {
			if a.pre != b.pre {
				return cmp.Compare(a.pre, b.pre)
			}
			return cmp.Compare(t.ids[a.local], t.ids[b.local])
		})
		ids := make([]string, len(order))
		rank := make([]int32, len(order))
		for pos, o := range order {
			ids[pos] = t.ids[o.local]
			rank[o.local] = int32(pos)
		}
		parts[w] = sorted{ids, rank}
		// The tables are no longer needed; the id texts (arena) are.
		t.text, t.num, t.dense = textTable{}, nil, nil
	})
	if len(parts) == 0 {
		return nil, nil
	}
	// Merge pairwise: each level halves the lists and maps every input
	// position to its position in the merged list.
	type level struct {
		ids []string
		// members: which original dictionaries this list covers, and
		// remap[j] maps positions of member j's previous list to this one.
		members []int
	}
	ranks := make([][]int32, len(parts))
	lists := make([]level, len(parts))
	for w, p := range parts {
		ranks[w] = p.rank
		lists[w] = level{ids: p.ids, members: []int{w}}
	}
	for len(lists) > 1 {
		next := make([]level, (len(lists)+1)/2)
		parallelFor(len(next), func(k int) {
			if 2*k+1 >= len(lists) {
				next[k] = lists[2*k]
				return
			}
			a, b := lists[2*k], lists[2*k+1]
			ids, ra, rb := merge2(a.ids, b.ids)
			for _, w := range a.members {
				for j, r := range ranks[w] {
					ranks[w][j] = ra[r]
				}
			}
			for _, w := range b.members {
				for j, r := range ranks[w] {
					ranks[w][j] = rb[r]
				}
			}
			next[k] = level{ids: ids, members: append(slices.Clip(a.members), b.members...)}
		})
		lists = next
	}
	return lists[0].ids, ranks
}

// merge2 merges two ascending lists of distinct strings into one, and
// returns the position in it of every element of a and of b.
func merge2(a, b []string) ([]string, []int32, []int32) {
	out := make([]string, 0, max(len(a), len(b)))
	ra, rb := make([]int32, len(a)), make([]int32, len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := cmp.Compare(a[i], b[j]); {
		case c < 0:
			ra[i] = int32(len(out))
			out = append(out, a[i])
			i++
		case c > 0:
			rb[j] = int32(len(out))
			out = append(out, b[j])
			j++
		default:
			ra[i], rb[j] = int32(len(out)), int32(len(out))
			out = append(out, a[i])
			i++
			j++
		}
	}
	for ; i < len(a); i++ {
		ra[i] = int32(len(out))
		out = append(out, a[i])
	}
	for ; j < len(b); j++ {
		rb[j] = int32(len(out))
		out = append(out, b[j])
	}
	return slices.Clip(out), ra, rb
}
