package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/recotem/recotem/internal/apikey"
)

// An allocation-free scrypt(P, "recotem.api-key.v1", N=2, r=8, p=1, 32)
// for the per-request API-key digest. internal/apikey.Digest (x/crypto) is
// the reference; TestDigestMatchesReference keeps them equal.

const (
	scryptR   = apikey.R
	scryptN   = apikey.N
	blockLen  = 128 * scryptR // bytes of B
	blockU32  = 32 * scryptR  // uint32 words of B
	MaxKeyLen = 256           // longer presented keys are rejected before hashing
)

type kdfScratch struct {
	b   [blockLen]byte
	msg [64 + blockLen + 4]byte
	v   [scryptN * blockU32]uint32
	xy  [2 * blockU32]uint32
}

var kdfPool = sync.Pool{New: func() any { return new(kdfScratch) }}

// hmacSHA256 computes HMAC-SHA256(key, msg) where msg is already placed at
// s.msg[64:64+n]; key ≤ 64 bytes.
func hmacSHA256(s *kdfScratch, key []byte, n int) [32]byte {
	var k [64]byte
	copy(k[:], key)
	for i := range 64 {
		s.msg[i] = k[i] ^ 0x36
	}
	inner := sha256.Sum256(s.msg[:64+n])
	var outer [64 + 32]byte
	for i := range 64 {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[64:], inner[:])
	return sha256.Sum256(outer[:])
}

// Digest returns the scrypt digest of plaintext (≤ 256 bytes).
func Digest(plaintext []byte) [32]byte {
	s := kdfPool.Get().(*kdfScratch)
	defer kdfPool.Put(s)
	key := plaintext
	var hk [32]byte
	if len(key) > 64 {
		hk = sha256.Sum256(key)
		key = hk[:]
	}
	// B = PBKDF2(P, salt, 1, 1024)
	salt := apikey.Salt
	for i := 0; i < blockLen/32; i++ {
		n := copy(s.msg[64:], salt)
		binary.BigEndian.PutUint32(s.msg[64+n:], uint32(i+1))
		t := hmacSHA256(s, key, n+4)
		copy(s.b[i*32:], t[:])
	}
	smix(s)
	// DK = PBKDF2(P, B, 1, 32)
	copy(s.msg[64:], s.b[:])
	binary.BigEndian.PutUint32(s.msg[64+blockLen:], 1)
	return hmacSHA256(s, key, blockLen+4)
}

func smix(s *kdfScratch) {
	var tmp [16]uint32
	const R = blockU32
	x := s.xy[:R]
	y := s.xy[R:]
	for i := range R {
		x[i] = binary.LittleEndian.Uint32(s.b[i*4:])
	}
	v := s.v[:]
	for i := 0; i < scryptN; i += 2 {
		copy(v[i*R:], x)
		blockMix(&tmp, x, y)
		copy(v[(i+1)*R:], y)
		blockMix(&tmp, y, x)
	}
	for i := 0; i < scryptN; i += 2 {
		j := int(integerify(x) & uint64(scryptN-1))
		xorInto(x, v[j*R:j*R+R])
		blockMix(&tmp, x, y)
		j = int(integerify(y) & uint64(scryptN-1))
		xorInto(y, v[j*R:j*R+R])
		blockMix(&tmp, y, x)
	}
	for i := range R {
		binary.LittleEndian.PutUint32(s.b[i*4:], x[i])
	}
}

func integerify(b []uint32) uint64 {
	j := (2*scryptR - 1) * 16
	return uint64(b[j]) | uint64(b[j+1])<<32
}

func xorInto(dst, src []uint32) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

func blockMix(tmp *[16]uint32, in, out []uint32) {
	copy(tmp[:], in[(2*scryptR-1)*16:])
	for i := 0; i < 2*scryptR; i += 2 {
		salsaXOR(tmp, in[i*16:], out[i*8:])
		salsaXOR(tmp, in[i*16+16:], out[i*8+scryptR*16:])
	}
}

// salsaXOR: tmp ^= in; tmp = tmp + salsa20/8(tmp); out = tmp.
func salsaXOR(tmp *[16]uint32, in, out []uint32) {
	var w, x [16]uint32
	for i := range 16 {
		w[i] = tmp[i] ^ in[i]
	}
	x = w
	qr := func(a, b, c, d int) {
		x[b] ^= bits.RotateLeft32(x[a]+x[d], 7)
		x[c] ^= bits.RotateLeft32(x[b]+x[a], 9)
		x[d] ^= bits.RotateLeft32(x[c]+x[b], 13)
		x[a] ^= bits.RotateLeft32(x[d]+x[c], 18)
	}
	for range 4 {
		qr(0, 4, 8, 12)
		qr(5, 9, 13, 1)
		qr(10, 14, 2, 6)
		qr(15, 3, 7, 11)
		qr(0, 1, 2, 3)
		qr(5, 6, 7, 4)
		qr(10, 11, 8, 9)
		qr(15, 12, 13, 14)
	}
	for i := range 16 {
		x[i] += w[i]
		out[i] = x[i]
		tmp[i] = x[i]
	}
}

var zeroKey [MaxKeyLen]byte

// Authenticator checks X-API-Key values against every configured digest.
//
// The scrypt digest costs ~13 µs, more than the rest of a cached
// recommendation. A key that has matched once is remembered as a keyed
// SHA-256 of the presented bytes under a random per-process secret (never
// the key itself), so later requests with it compare 32 bytes in constant
// time with every remembered tag instead of hashing again. Only keys that
// passed the full check are remembered, at most one tag per configured
// key (a plaintext has one digest), so the list stays as small as
// RECOTEM_API_KEYS; rejected keys always pay the full digest, as before.
type Authenticator struct {
	keys     []apikey.Key
	secret   [32]byte
	verified atomic.Pointer[[]verifiedKey] // copy on write
}

type verifiedKey struct {
	tag [32]byte
	kid string
}

func New(keys []apikey.Key) *Authenticator {
	a := &Authenticator{keys: keys}
	if _, err := rand.Read(a.secret[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return a
}

// tag is SHA-256(secret ‖ presented); presented is ≤ MaxKeyLen bytes.
func (a *Authenticator) tag(presented []byte) [32]byte {
	var buf [32 + MaxKeyLen]byte
	copy(buf[:], a.secret[:])
	n := copy(buf[32:], presented)
	return sha256.Sum256(buf[:32+n])
}

// Check returns the kid of the matching key. Too-short and too-long keys
// are rejected by the caller; here every digest (or remembered tag) is
// compared in constant time and non-matches still hash.
func (a *Authenticator) Check(presented []byte) (string, bool) {
	t := a.tag(presented)
	if v := a.verified.Load(); v != nil {
		found := -1
		for i := range *v {
			if subtle.ConstantTimeCompare((*v)[i].tag[:], t[:]) == 1 && found < 0 {
				found = i
			}
		}
		if found >= 0 {
			return (*v)[found].kid, true
		}
	}
	d := Digest(presented)
	found := -1
	for i := range a.keys {
		eq := subtle.ConstantTimeCompare(a.keys[i].Digest[:], d[:])
		if eq == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	a.remember(t, a.keys[found].Kid)
	return a.keys[found].Kid, true
}

// remember adds a verified tag (bounded by the number of configured keys).
func (a *Authenticator) remember(t [32]byte, kid string) {
	for {
		old := a.verified.Load()
		var cur []verifiedKey
		if old != nil {
			cur = *old
		}
		if len(cur) >= len(a.keys) {
			return
		}
		for _, v := range cur {
			if v.tag == t {
				return
			}
		}
		next := append(append(make([]verifiedKey, 0, len(cur)+1), cur...), verifiedKey{t, kid})
		if a.verified.CompareAndSwap(old, &next) {
			return
		}
	}
}

// Burn hashes 256 NUL bytes so rejections before hashing take as long as a
// digest comparison.
func (a *Authenticator) Burn() { _ = Digest(zeroKey[:]) }
