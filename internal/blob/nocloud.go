//go:build recotem_nocloud

// Under the recotem_nocloud build tag (the quick `make demo` binary) no
// cloud SDK is linked: s3://, gs://, az://, abfs:// and abfss:// URIs fail
// with ErrUnsupported naming the tag. file:// and local paths work as ever.

package blob

import (
	"context"
	"errors"

	gcblob "gocloud.dev/blob"
)

// CloudDrivers reports whether this build can open s3://, gs:// and az://
// URIs (false under the recotem_nocloud build tag).
const CloudDrivers = false

var errNoCloud = errors.New("this recotem binary was built with the recotem_nocloud tag and has no object-store drivers; use a full build (make build, or the container image)")

func openRemote(context.Context, Location) (*gcblob.Bucket, error) {
	return nil, &Error{Op: "open bucket", Kind: ErrUnsupported, Err: errNoCloud}
}

func deniedByStatus(error) bool { return false }

func versionID(*gcblob.Attributes) string { return "" }
