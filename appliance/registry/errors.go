package registry

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"

	"github.com/recotem/recotem/format"
)

// stageError marks an error with the reason label of
// recotem_artifact_load_failures_total (metadata, deserialize, ...).
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func withStage(stage string, err error) error { return &stageError{stage: stage, err: err} }

// loadReason maps a load error to its reason label.
func loadReason(err error) string {
	var se *stageError
	if errors.As(err, &se) {
		return se.stage
	}
	for _, s := range formatSentinels {
		if errors.Is(err, s) {
			return format.Stage(err)
		}
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return "read"
	}
	return "unexpected"
}

var formatSentinels = []error{
	format.ErrTooLarge, format.ErrMagic, format.ErrVersion, format.ErrReserved, format.ErrKidLength,
	format.ErrTruncated, format.ErrKidUTF8, format.ErrHeaderUTF8, format.ErrHeaderTooLarge,
	format.ErrUnknownKid, format.ErrSignature, format.ErrHeaderJSON, format.ErrLayout,
	format.ErrLayoutVersion, format.ErrNotFound, format.ErrPointer,
}

var uriRe = regexp.MustCompile(`\b(?:s3|gs|az|abfss?|https?)://[^\s'"]+`)

// canonicalError renders a load error as stored and shown by health
// endpoints: the §4 text without wrapping prefixes, URIs redacted, at most
// 200 characters.
func canonicalError(err error) string {
	msg := err.Error()
	for _, s := range formatSentinels {
		if !errors.Is(err, s) {
			continue
		}
		prefix := s.Error()
		for e := err; e != nil; e = errors.Unwrap(e) {
			if t := e.Error(); strings.HasPrefix(t, prefix) {
				msg = t
				break
			}
		}
		break
	}
	return clipError(msg)
}

func clipError(msg string) string {
	msg = uriRe.ReplaceAllString(msg, "<redacted-uri>")
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
