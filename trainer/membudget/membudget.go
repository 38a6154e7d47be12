// Package membudget owns how much memory a training run may use: the
// operator's RECOTEM_TRAIN_MEMORY_LIMIT, else the memory cgroup's limit,
// else what the host has available — and how much of it the process
// already holds. The trainer compares every algorithm's memory bound
// (algo.PeakMemory) with Available before the search starts, so a job that
// cannot fit stops with the bytes it would need instead of being killed by
// the kernel hours later.
package membudget

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Sources of a Limit.
const (
	SourceEnv     = "RECOTEM_TRAIN_MEMORY_LIMIT"
	SourceCgroup  = "cgroup"
	SourceMeminfo = "MemAvailable"
)

// Budget is the memory a run may hold and what it holds now.
type Budget struct {
	Limit  int64  // bytes the process may hold in total
	Source string // which of the Source* constants set Limit
	InUse  int64  // resident bytes of this process when measured
}

// Available is what is left for new allocations.
func (b Budget) Available() int64 { return max(b.Limit-b.InUse, 0) }

// Detect measures the budget on this host: override (> 0) is the
// operator's limit; otherwise the tightest of the memory cgroup's limit
// (v2 memory.max, v1 memory.limit_in_bytes) and the process's resident
// size plus the host's MemAvailable.
func Detect(override int64) (Budget, error) {
	return detect(os.DirFS("/"), override)
}

func detect(root fs.FS, override int64) (Budget, error) {
	rss, err := residentBytes(root)
	if err != nil {
		return Budget{}, err
	}
	if override > 0 {
		return Budget{Limit: override, Source: SourceEnv, InUse: rss}, nil
	}
	avail, err := memAvailable(root)
	if err != nil {
		return Budget{}, err
	}
	b := Budget{Limit: rss + avail, Source: SourceMeminfo, InUse: rss}
	if lim, ok := cgroupLimit(root); ok && lim < b.Limit {
		b.Limit, b.Source = lim, SourceCgroup
	}
	return b, nil
}

// residentBytes reads the resident set size from proc/self/statm (pages).
func residentBytes(root fs.FS) (int64, error) {
	raw, err := fs.ReadFile(root, "proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("membudget: %w", err)
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0, fmt.Errorf("membudget: proc/self/statm: %q has no resident field", raw)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("membudget: proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// memAvailable reads MemAvailable (kB) from proc/meminfo.
func memAvailable(root fs.FS) (int64, error) {
	raw, err := fs.ReadFile(root, "proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("membudget: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("membudget: proc/meminfo: MemAvailable %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("membudget: proc/meminfo has no MemAvailable line")
}

// cgroupLimit returns the memory limit of this process's cgroup, if any:
// v2 (a "0::/path" line in proc/self/cgroup, memory.max under
// sys/fs/cgroup/path, "max" meaning none) or v1 (the memory controller's
// memory.limit_in_bytes; values near 2^63 mean none). Ancestors' limits
// are checked up to the root, the tightest wins.
func cgroupLimit(root fs.FS) (int64, bool) {
	raw, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	best, found := int64(0), false
	take := func(v int64) {
		if v > 0 && v < 1<<60 && (!found || v < best) {
			best, found = v, true
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var base, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			base, file = "sys/fs/cgroup", "memory.max"
		case hasController(parts[1], "memory"):
			base, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for p := strings.Trim(parts[2], "/"); ; {
			dir := base
			if p != "" {
				dir += "/" + p
			}
			if v, err := fs.ReadFile(root, dir+"/"+file); err == nil {
				if n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err == nil {
					take(n)
				}
			}
			if p == "" {
				break
			}
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				p = p[:i]
			} else {
				p = ""
			}
		}
	}
	return best, found
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// Bytes formats n as a human size (KiB, MiB, GiB with one decimal).
func Bytes(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	switch {
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	}
	return fmt.Sprintf("%d B", n)
}

// Peaks samples this process's resident set every interval (cheap: one
// read of /proc/self/statm) and keeps the highest value seen, so that each
// training phase can report its own peak. It does not touch the kernel's
// own high-water mark (VmHWM, getrusage's ru_maxrss), which tools such as
// /usr/bin/time read.
type Peaks struct {
	max  atomic.Int64
	stop chan struct{}
	done chan struct{}
}

// StartPeaks starts sampling; Stop ends it. Where /proc is not available
// every peak reads 0.
func StartPeaks(interval time.Duration) *Peaks {
	p := &Peaks{stop: make(chan struct{}), done: make(chan struct{})}
	p.sample()
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.sample()
			}
		}
	}()
	return p
}

func (p *Peaks) sample() int64 {
	rss, err := residentBytes(os.DirFS("/"))
	if err != nil {
		return 0
	}
	for {
		m := p.max.Load()
		if rss <= m || p.max.CompareAndSwap(m, rss) {
			return rss
		}
	}
}

// Take returns the highest resident set seen since the last Restart (or
// the start), the current one included.
func (p *Peaks) Take() int64 {
	p.sample()
	return p.max.Load()
}

// Restart begins a new peak from the current resident set.
func (p *Peaks) Restart() {
	p.max.Store(0)
	p.sample()
}

// Stop ends the sampling.
func (p *Peaks) Stop() {
	close(p.stop)
	<-p.done
}
