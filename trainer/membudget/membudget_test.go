package membudget

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"testing/fstest"
	"time"
)

func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

func TestDetect(t *testing.T) {
	page := int64(os.Getpagesize())
	base := []string{
		"proc/self/statm", "5000 1000 300 10 0 900 0\n",
		"proc/meminfo", "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n",
	}
	rss := 1000 * page
	avail := int64(20000000) << 10
	for _, tc := range []struct {
		name     string
		extra    []string
		override int64
		limit    int64
		source   string
	}{
		{"host", nil, 0, rss + avail, SourceMeminfo},
		{"override", nil, 1 << 30, 1 << 30, SourceEnv},
		{"cgroup v2", []string{"proc/self/cgroup", "0::/kubepods/pod1/c1\n", "sys/fs/cgroup/kubepods/pod1/c1/memory.max", "4294967296\n"}, 0, 4 << 30, SourceCgroup},
		{"cgroup v2 parent", []string{"proc/self/cgroup", "0::/a/b\n", "sys/fs/cgroup/a/b/memory.max", "max\n", "sys/fs/cgroup/a/memory.max", "2147483648\n"}, 0, 2 << 30, SourceCgroup},
		{"cgroup v2 unlimited", []string{"proc/self/cgroup", "0::/a\n", "sys/fs/cgroup/a/memory.max", "max\n"}, 0, rss + avail, SourceMeminfo},
		{"cgroup larger than host", []string{"proc/self/cgroup", "0::/a\n", "sys/fs/cgroup/a/memory.max", "1099511627776\n"}, 0, rss + avail, SourceMeminfo},
		{"cgroup v1", []string{"proc/self/cgroup", "12:cpu,cpuacct:/x\n9:memory:/docker/abc\n", "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "1073741824\n"}, 0, 1 << 30, SourceCgroup},
		{"cgroup v1 unlimited", []string{"proc/self/cgroup", "9:memory:/\n", "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"}, 0, rss + avail, SourceMeminfo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := detect(files(append(append([]string{}, base...), tc.extra...)...), tc.override)
			if err != nil {
				t.Fatal(err)
			}
			if b.Limit != tc.limit || b.Source != tc.source || b.InUse != rss {
				t.Fatalf("got %+v, want limit %d source %s in use %d", b, tc.limit, tc.source, rss)
			}
			if b.Available() != tc.limit-rss {
				t.Fatalf("available %d", b.Available())
			}
		})
	}
	if (Budget{Limit: 1, InUse: 5}).Available() != 0 {
		t.Error("over the limit: available must be 0")
	}
	for _, bad := range []fstest.MapFS{
		files(),
		files("proc/self/statm", "x"),
		files("proc/self/statm", "1 zz"),
		files("proc/self/statm", "1 2", "proc/meminfo", "MemTotal: 1 kB\n"),
		files("proc/self/statm", "1 2", "proc/meminfo", "MemAvailable: lots kB\n"),
	} {
		if _, err := detect(bad, 0); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestDetectThisHost reads the real /proc: whatever the host, the budget is
// positive and the process's own resident size is counted.
func TestDetectThisHost(t *testing.T) {
	b, err := Detect(0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Limit <= 0 || b.InUse <= 0 || b.Available() <= 0 {
		t.Fatalf("%+v", b)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 1536: "1.5 KiB", 3 << 20: "3.0 MiB", 25 << 29: "12.5 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPeaks: a peak covers memory touched since the restart even after it
// is freed again, and a restart starts from what is resident now.
func TestPeaks(t *testing.T) {
	p := StartPeaks(time.Millisecond)
	defer p.Stop()
	base := p.Take()
	if base <= 0 {
		t.Fatal("no resident size from /proc/self/statm")
	}
	buf := make([]byte, 256<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	time.Sleep(20 * time.Millisecond)
	runtime.KeepAlive(buf)
	buf = nil
	runtime.GC()
	debug.FreeOSMemory()
	peak := p.Take()
	if peak < base+200<<20 {
		t.Fatalf("peak %d after touching 256 MiB, %d before", peak, base)
	}
	p.Restart()
	if after := p.Take(); after > peak-128<<20 {
		t.Errorf("after Restart the peak is %d, was %d", after, peak)
	}
}
