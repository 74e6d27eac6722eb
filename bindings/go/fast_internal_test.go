package ffikit

import (
	"runtime"
	"testing"
	"time"
)

// Kernel calls are routed by the bytes they touch: up to fastMaxBytes on the goroutine
// stack, beyond it through the C API (cgo), which the collector's stop-the-world does not
// wait for. Checked on the routing itself, not on a timing, and on 1M-element sums beside an
// allocating goroutine; BenchmarkGCPause measures the pauses against cgo's.
func TestLongKernelCallsLeaveTheFastPath(t *testing.T) {
	ctx, err := NewContext("native")
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	if fastAvailable && !ctx.FastCalls() {
		t.Fatalf("native context on %s without the fast path", runtime.GOARCH)
	}
	for _, c := range []struct {
		bytes int
		fast  bool
	}{{0, true}, {8, true}, {fastMaxBytes, true}, {fastMaxBytes + 1, false}, {8 << 20, false}} {
		if got := ctx.fastFits(c.bytes); got != (c.fast && fastAvailable) {
			t.Errorf("fastFits(%d bytes) = %v", c.bytes, got)
		}
	}
	ctx.SetFastCalls(false)
	if ctx.fastFits(8) {
		t.Error("SetFastCalls(false) left the fast path on")
	}
	ctx.SetFastCalls(true)

	x := make([]float64, 1<<20)
	for i := range x {
		x[i] = float64(i % 7)
	}
	want := 0.0
	for _, v := range x {
		want += v
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); allocateUntil(stop) }()
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); {
		if s, err := ctx.SumF64(x); err != nil || s != want {
			t.Fatalf("SumF64 of 1M elements: %v, %v (want %v)", s, err, want)
		}
	}
	close(stop)
	<-done
}

// allocateUntil allocates 64 KiB blocks without pause until stop is closed, keeping the
// collector cycling (BenchmarkGCPause uses it too, through AllocateUntil).
func allocateUntil(stop <-chan struct{}) {
	var keep [][]byte
	for {
		select {
		case <-stop:
			return
		default:
			keep = append(keep, make([]byte, 64<<10))
			if len(keep) > 64 {
				keep = keep[:0]
			}
		}
	}
}

// AllocateUntil is allocateUntil for the external test package.
var AllocateUntil = allocateUntil
