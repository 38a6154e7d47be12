package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// TestRequireListsKnownNeeds fails when RECOTEM_TEST_REQUIRE names
// something that is not a need: .ci/run's list must not hold a typo that
// would quietly turn a required service back into a skip.
func TestRequireListsKnownNeeds(t *testing.T) {
	if bad := Unknown(); len(bad) > 0 {
		t.Fatalf("%s lists unknown needs %q; known: %v and all", Var, bad, Needs())
	}
}

// recorder is a testing.TB whose Fatalf and Skipf only record.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestRequire(t *testing.T) {
	for _, c := range []struct {
		env         string
		need        Need
		available   bool
		fatal, skip bool
	}{
		{"", S3, true, false, false},
		{"", S3, false, false, true},
		{"postgres,mysql", S3, false, false, true},
		{"postgres, s3", S3, false, true, false},
		{"s3", S3, true, false, false},
		{"all", MovieLens, false, true, false},
		{"all", MovieLens, true, false, false},
	} {
		t.Setenv(Var, c.env)
		r := &recorder{TB: t}
		Require(r, c.need, c.available, "X_%s is unset", "Y")
		if (r.fatal != "") != c.fatal || (r.skip != "") != c.skip {
			t.Errorf("%s=%q need %s available %v: fatal %q, skip %q", Var, c.env, c.need, c.available, r.fatal, r.skip)
			continue
		}
		msg := r.fatal + r.skip
		if msg != "" && (!strings.Contains(msg, "X_Y is unset") || !strings.Contains(msg, provide[c.need])) {
			t.Errorf("message %q does not say what is missing and how to provide it", msg)
		}
	}
}

func TestUnknown(t *testing.T) {
	t.Setenv(Var, "s3,postgress,,all, gcs ,helm,kustomize,systemd")
	if bad := Unknown(); len(bad) != 1 || bad[0] != "postgress" {
		t.Fatalf("Unknown() = %q", bad)
	}
	if !Required(GCS) || !Required(Wrk) {
		t.Fatal("all lists every need")
	}
	t.Setenv(Var, "s3")
	if Required(GCS) || !Required(S3) {
		t.Fatal("Required ignores the list")
	}
}
