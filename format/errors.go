package format

import (
	"errors"
	"fmt"
)

// Sentinel errors. Their text is exactly the read-check table of
// recotem-behavior.md §4, so health endpoints, events and inspect show it
// verbatim. Match with errors.Is.
var (
	ErrTooLarge       = errors.New("payload exceeds max bytes")
	ErrMagic          = errors.New("magic bytes mismatch")
	ErrVersion        = errors.New("unsupported format version")
	ErrReserved       = errors.New("reserved bytes must be zero")
	ErrKidLength      = errors.New("kid length out of range")
	ErrTruncated      = errors.New("artifact truncated")
	ErrKidUTF8        = errors.New("kid is not valid UTF-8")
	ErrHeaderUTF8     = errors.New("header JSON is not valid UTF-8")
	ErrHeaderTooLarge = errors.New("header JSON too large")
	ErrUnknownKid     = errors.New("unknown kid")
	ErrSignature      = errors.New("signature mismatch")
	ErrHeaderJSON     = errors.New("header JSON decode failed")
	ErrLayout         = errors.New("payload layout invalid")
	ErrLayoutVersion  = errors.New("payload layout version unsupported")
	ErrNotFound       = errors.New("artifact not found")
	ErrPointer        = errors.New("pointer target invalid")
)

// detailError carries a sentinel plus detail; its text is "<sentinel>: <detail>".
type detailError struct {
	sentinel error
	detail   string
}

func (e *detailError) Error() string { return e.sentinel.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.sentinel }

func withDetail(sentinel error, format string, args ...any) error {
	return &detailError{sentinel: sentinel, detail: fmt.Sprintf(format, args...)}
}

// CorruptError locates a payload problem: which section and where.
type CorruptError struct {
	Path    string
	Section string
	Offset  int64
	Err     error
}

func (e *CorruptError) Error() string {
	if e.Section == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s (section %q at offset %d)", e.Err, e.Section, e.Offset)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Stage names the reason label of a read error, as the appliance's
// recotem_artifact_load_failures_total{reason} and startup events use it:
// "read", "parse", "hmac", "header_json", "deserialize", "version_skew".
func Stage(err error) string {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrTooLarge) && !isPayloadCap(err), errors.Is(err, ErrPointer):
		return "read"
	case errors.Is(err, ErrUnknownKid), errors.Is(err, ErrSignature):
		return "hmac"
	case errors.Is(err, ErrHeaderJSON):
		return "header_json"
	case errors.Is(err, ErrLayoutVersion):
		return "version_skew"
	case errors.Is(err, ErrLayout):
		return "deserialize"
	case errors.Is(err, ErrMagic), errors.Is(err, ErrVersion), errors.Is(err, ErrReserved),
		errors.Is(err, ErrKidLength), errors.Is(err, ErrTruncated), errors.Is(err, ErrKidUTF8),
		errors.Is(err, ErrHeaderUTF8), errors.Is(err, ErrHeaderTooLarge), errors.Is(err, ErrTooLarge):
		return "parse"
	}
	return "read"
}

// payloadCapError marks a §4 #9 failure (payload cap) as opposed to #1 (file cap).
type payloadCapError struct{}

func (payloadCapError) Error() string { return ErrTooLarge.Error() }
func (payloadCapError) Unwrap() error { return ErrTooLarge }

func isPayloadCap(err error) bool {
	var p payloadCapError
	return errors.As(err, &p)
}
