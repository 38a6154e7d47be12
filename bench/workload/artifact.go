package workload

import (
	"fmt"

	"github.com/recotem/recotem/format"
)

// ArtifactIDs reads the "user_ids" and "item_ids" string tables of a
// verified artifact (format.Open: pointer, caps, HMAC with ring, layout) and
// copies them, so the mapping is closed before it returns. A table the
// artifact lacks comes back nil; an artifact with neither is ErrNoIDs.
func ArtifactIDs(path string, ring *format.KeyRing, lim format.Limits) (users, items *IDs, err error) {
	a, err := format.Open(path, ring, lim)
	if err != nil {
		return nil, nil, fmt.Errorf("open artifact %q: %w", path, err)
	}
	defer a.Close()
	read := func(name string) (*IDs, error) {
		t, err := a.Strings(name)
		if err != nil {
			return nil, nil //nolint:nilerr // a missing table is reported by the caller
		}
		if t.Len() == 0 {
			return nil, nil
		}
		return IDsFromTable(t)
	}
	if users, err = read("user_ids"); err != nil {
		return nil, nil, err
	}
	if items, err = read("item_ids"); err != nil {
		return nil, nil, err
	}
	if users == nil && items == nil {
		return nil, nil, fmt.Errorf("artifact %q: %w (no user_ids or item_ids table)", path, ErrNoIDs)
	}
	return users, items, nil
}
