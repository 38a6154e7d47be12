package bench

import (
	"errors"
	"fmt"

	"github.com/recotem/recotem/bench/workload"
)

// Sentinel errors. Match with errors.Is; cmd/recotem maps them to exit codes
// in one place (ErrRemoteTarget → 8, ErrConfig and workload.ErrNoIDs → 2).
var (
	// ErrRemoteTarget: the target is not a loopback address and the run was
	// not allowed to go remote.
	ErrRemoteTarget = errors.New("target is not a loopback address")
	// ErrConfig: the run configuration is invalid (bad URL, no endpoint,
	// neither duration nor request count, ...). It is workload.ErrConfig,
	// so one errors.Is matches an invalid setting whichever package found it.
	ErrConfig = workload.ErrConfig
)

// RemoteError names the target refused by the loopback guard and the
// address it resolved to. It unwraps to ErrRemoteTarget.
type RemoteError struct {
	Host string // host as written in the URL
	Addr string // the first non-loopback address it resolved to ("" if Host is one)
}

func (e *RemoteError) Error() string {
	if e.Addr == "" || e.Addr == e.Host {
		return fmt.Sprintf("refusing non-loopback target %q (pass --allow-remote to load-test it)", e.Host)
	}
	return fmt.Sprintf("refusing non-loopback target %q (resolves to %s; pass --allow-remote to load-test it)", e.Host, e.Addr)
}

func (e *RemoteError) Unwrap() error { return ErrRemoteTarget }

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}
