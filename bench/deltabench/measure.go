package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// usage is what one child process cost.
type usage struct {
	wall   time.Duration
	cpu    time.Duration // user plus system
	maxRSS int64         // peak resident set, bytes
}

// add sums the times and keeps the larger peak.
func (u usage) add(v usage) usage {
	return usage{wall: u.wall + v.wall, cpu: u.cpu + v.cpu,
		maxRSS: max(u.maxRSS, v.maxRSS)}
}

// measure runs name with args, waits for it and returns its wall time
// and, from the rusage wait4 reports, its CPU time and peak RSS. It also
// returns the child's stdout. A failed run is an error carrying the
// command line and the child's stderr.
func measure(name string, args ...string) (usage, []byte, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return usage{}, nil, fmt.Errorf("%s %s: %w: %s", name,
			strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}

	u := usage{wall: wall,
		cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.maxRSS = ru.Maxrss << 10 // Linux reports KiB
	}
	return u, stdout.Bytes(), nil
}
