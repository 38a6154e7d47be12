package blob

import "errors"

// Sentinels; an *Error unwraps to one of them when the cause is known.
var (
	// ErrNotFound: the object (or its bucket) does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrPermission: the store refused the credentials or the access.
	ErrPermission = errors.New("object access denied")
	// ErrTooLarge: the object is larger than the caller's cap.
	ErrTooLarge = errors.New("object exceeds max bytes")
	// ErrUnsupported: the URI's scheme or shape is not an object-store path.
	ErrUnsupported = errors.New("unsupported object URI")
)

// Error is a failed object-store operation. URI never carries credentials.
type Error struct {
	Op   string // "stat", "read", "put", "open bucket", "parse"
	URI  string
	Kind error // one of the sentinels, or nil when unclassified
	Err  error // the driver's error, or nil
}

func (e *Error) Error() string {
	s := e.Op + " " + e.URI
	switch {
	case e.Kind != nil && e.Err != nil:
		return s + ": " + e.Kind.Error() + ": " + e.Err.Error()
	case e.Kind != nil:
		return s + ": " + e.Kind.Error()
	case e.Err != nil:
		return s + ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the sentinel and the driver's error.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}
