package ffikit

import (
	"math"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// Kernel calls are routed by the bytes they touch: up to fastMaxBytes on the goroutine
// stack, beyond it through the C API (cgo), which the collector's stop-the-world does not
// wait for. Checked on the routing itself, not on a timing; the worst GC pause beside a
// 1M-element sum is logged for the reader.
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
	before := pauseCounts()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // an allocating goroutine keeps the collector cycling
		defer wg.Done()
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
	}()
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); {
		if s, err := ctx.SumF64(x); err != nil || s != want {
			t.Fatalf("SumF64 of 1M elements: %v, %v (want %v)", s, err, want)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("worst stop-the-world pause during 1M-element sums (routed through the C API): %v",
		worstPauseSince(before))
}

// pauseCounts reads the runtime's histogram of stop-the-world pauses.
func pauseCounts() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// worstPauseSince is the upper bound of the highest histogram bucket that gained a pause
// since before was read.
func worstPauseSince(before *metrics.Float64Histogram) time.Duration {
	after := pauseCounts()
	for i := len(after.Counts) - 1; i >= 0; i-- {
		if after.Counts[i] > before.Counts[i] {
			upper := after.Buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = after.Buckets[i]
			}
			return time.Duration(upper * 1e9)
		}
	}
	return 0
}
