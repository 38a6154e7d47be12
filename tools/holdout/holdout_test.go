package holdout

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestTimeUser(t *testing.T) {
	in := "u,i,ts\n" +
		"a,1,50\n" + // a: 10 rows, ⌊0.2·10⌋ = 2 most recent held out
		"a,2,10\na,3,90\na,4,20\na,5,90\na,6,30\na,7,40\na,8,60\na,9,70\na,10,80\n" +
		"b,1,5\nb,2,6\nb,3,7\nb,4,8\n" // b: 4 rows < 1/0.2, all train
	var tr, te bytes.Buffer
	st, err := TimeUser(strings.NewReader(in), "u", "ts", 0.2, &tr, &te)
	if err != nil {
		t.Fatal(err)
	}
	// a,3 and a,5 tie at 90: both are the latest; a,10 (80) stays in train.
	if got, want := te.String(), "u,i,ts\na,3,90\na,5,90\n"; got != want {
		t.Errorf("test file\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(tr.String(), "u,i,ts\na,1,50\na,2,10\na,4,20\n") || !strings.Contains(tr.String(), "a,10,80\nb,1,5\n") {
		t.Errorf("train file:\n%s", tr.String())
	}
	if st != (Stats{Users: 2, TestUsers: 1, TrainRows: 12, TestRows: 2}) {
		t.Errorf("stats %+v", st)
	}
	// Ties: the later input row counts as more recent.
	tr.Reset()
	te.Reset()
	if _, err := TimeUser(strings.NewReader("u,ts\nx,1\nx,1\n"), "u", "ts", 0.5, &tr, &te); err != nil {
		t.Fatal(err)
	}
	if te.String() != "u,ts\nx,1\n" || tr.String() != "u,ts\nx,1\n" {
		t.Errorf("tie: train %q test %q", tr.String(), te.String())
	}
	for _, c := range []struct {
		in   string
		h    float64
		want string
	}{
		{"u,ts\n", 0, "heldout ratio"},
		{"u,ts\n", 1, "heldout ratio"},
		{"user,ts\n", 0.1, "lacks"},
		{"u,ts\nx,notatime\n", 0.1, "line 2: ts"},
		{"", 0.1, "header"},
	} {
		_, err := TimeUser(strings.NewReader(c.in), "u", "ts", c.h, &tr, &te)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q h=%v: %v, want %q", c.in, c.h, err, c.want)
		}
	}
}
