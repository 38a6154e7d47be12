package format

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// Fixed layout of the container (recotem-behavior.md §4, docs/format.md).
const (
	magic          = "RECOTEM\x00"
	Version        = 1
	MaxKidLen      = 32
	MaxHeaderBytes = 65536
	macLen         = 32
	// MinSize is the smallest well-formed container: 1-byte kid, empty header.
	MinSize = 8 + 2 + 2 + 1 + 1 + macLen + 4
)

// Default caps (RECOTEM_MAX_ARTIFACT_BYTES, RECOTEM_MAX_PAYLOAD_BYTES).
const (
	DefaultMaxArtifactBytes = 2 << 30
	DefaultMaxPayloadBytes  = 512 << 20
)

// Limits caps what a reader accepts. Zero fields take the defaults.
type Limits struct {
	MaxArtifactBytes int64 // whole file (and pointer target); default 2 GiB
	MaxPayloadBytes  int64 // bytes after the header JSON; default 512 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxArtifactBytes <= 0 {
		l.MaxArtifactBytes = DefaultMaxArtifactBytes
	}
	if l.MaxPayloadBytes <= 0 {
		l.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	return l
}

// Container is a parsed, verified format-1 container. Data aliases the
// input (or the mapping); Header.Raw aliases Data.
type Container struct {
	Kid           string
	MAC           [macLen]byte
	Header        Header
	PayloadOffset int64
	Data          []byte
}

// Payload returns the payload bytes (everything after the header JSON).
func (c *Container) Payload() []byte { return c.Data[c.PayloadOffset:] }

// Parse checks a whole container held in memory, in the order of §4:
// structure (#2–#8), payload cap (#9), kid (#10), HMAC (#11), header JSON
// (#12). It does not validate the payload section table; Open does. A nil
// ring skips #10–#11 (development, unsigned).
func Parse(data []byte, ring *KeyRing, lim Limits) (*Container, error) {
	lim = lim.withDefaults()
	c, err := parseStructure(data, lim)
	if err != nil {
		return nil, err
	}
	if ring != nil {
		if err := c.verify(ring); err != nil {
			return nil, err
		}
	}
	if err := c.decodeHeader(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseStructure(data []byte, lim Limits) (*Container, error) {
	if int64(len(data)) > lim.MaxArtifactBytes {
		return nil, ErrTooLarge
	}
	if len(data) < 8 || string(data[:8]) != magic {
		return nil, ErrMagic
	}
	if len(data) < 10 {
		return nil, ErrTruncated
	}
	if v := binary.LittleEndian.Uint16(data[8:10]); v == 0 || v > Version {
		return nil, ErrVersion
	}
	if len(data) < 12 {
		return nil, ErrTruncated
	}
	if binary.LittleEndian.Uint16(data[10:12]) != 0 {
		return nil, ErrReserved
	}
	if len(data) < 13 {
		return nil, ErrTruncated
	}
	k := int(data[12])
	if k < 1 || k > MaxKidLen {
		return nil, ErrKidLength
	}
	if len(data) < 13+k {
		return nil, ErrTruncated
	}
	kid := data[13 : 13+k]
	if !utf8.Valid(kid) {
		return nil, ErrKidUTF8
	}
	p := 13 + k
	if len(data) < p+macLen+4 {
		return nil, ErrTruncated
	}
	c := &Container{Kid: string(kid), Data: data}
	copy(c.MAC[:], data[p:p+macLen])
	p += macLen
	n := int64(binary.LittleEndian.Uint32(data[p : p+4]))
	p += 4
	if n > MaxHeaderBytes {
		return nil, ErrHeaderTooLarge
	}
	if int64(len(data)) < int64(p)+n {
		return nil, ErrTruncated
	}
	hdr := data[p : int64(p)+n]
	if !utf8.Valid(hdr) {
		return nil, ErrHeaderUTF8
	}
	c.Header.Raw = hdr
	c.PayloadOffset = int64(p) + n
	if int64(len(data))-c.PayloadOffset > lim.MaxPayloadBytes {
		return nil, payloadCapError{}
	}
	return c, nil
}

func (c *Container) verify(ring *KeyRing) error {
	key, ok := ring.Lookup(c.Kid)
	if !ok {
		return withDetail(ErrUnknownKid, "%s", SafeKid(c.Kid))
	}
	want := computeMAC(key, []byte(c.Kid), c.Header.Raw, c.Payload())
	if !hmac.Equal(want[:], c.MAC[:]) {
		return ErrSignature
	}
	return nil
}

func computeMAC(key, kid, header, payload []byte) [macLen]byte {
	m := hmac.New(sha256.New, key)
	m.Write(kid)
	m.Write(header)
	m.Write(payload)
	var out [macLen]byte
	m.Sum(out[:0])
	return out
}

func (c *Container) decodeHeader() error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(c.Header.Raw, &fields); err != nil {
		return withDetail(ErrHeaderJSON, "%v", err)
	}
	if fields == nil {
		return withDetail(ErrHeaderJSON, "header is not a JSON object")
	}
	c.Header.Fields = fields
	if raw, ok := fields["payload"]; ok {
		var ph PayloadHeader
		if err := json.Unmarshal(raw, &ph); err != nil {
			c.Header.payloadErr = withDetail(ErrLayout, "payload object: %v", err)
		} else {
			c.Header.Payload = &ph
		}
	}
	return nil
}
