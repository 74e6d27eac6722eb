package ffikit_test

import (
	"runtime/metrics"
	"sort"
	"testing"
	"time"

	ffikit "github.com/ffikit/ffikit/bindings/go"
)

// BenchmarkGCPause measures what long kernel calls do to the collector's stop-the-world
// pauses: 1M-element SumF64 calls (8 MB read, ~1 ms each) in a loop beside a goroutine
// that allocates 64 KiB blocks without pause, so the collector cycles all the time. Each
// b.N iteration is one round: a batch of sums through the build's floor (a direct cgo call;
// purego without cgo), then a batch through ffikit's fast-path context, which routes calls
// this long through the C API rather than the goroutine stack (fastMaxBytes in fast.go).
//
// Metrics, from the runtime's pause histogram (/sched/pauses/total/gc:seconds, read before
// and after each batch, so a pause counts for the batch it fell in; the histogram's buckets
// are ~12% wide and a pause is reported as its bucket's upper bound):
//
//   - worst-pause-ms and floor-worst-pause-ms: the worst pause over the whole run, ffikit's
//     batches and the floor's;
//   - median-worst-pause-ms and floor-median-worst-pause-ms: the median over rounds of each
//     round's worst pause, which one descheduled round cannot move;
//   - pause-excess-ms: worst-pause-ms less floor-worst-pause-ms, and median-pause-excess-ms
//     the same of the medians (the bound the fast path keeps: within 1 ms of cgo's).
//
// It reports and asserts no time (this machine's pauses swing by milliseconds between
// runs); TestLongKernelCallsLeaveTheFastPath checks the routing that keeps the two equal.
func BenchmarkGCPause(b *testing.B) {
	if !fastAvailable() {
		b.Skip("NOT RUN: this architecture has no fast path, so there is nothing to compare " +
			"with the floor")
	}
	var fast kernelImpl
	for _, impl := range implementations(b) {
		if impl.name == fastRow {
			fast = impl
		}
	}
	if fast.sum == nil {
		b.Fatalf("no %s row among the implementations", fastRow)
	}
	x, _, want, _ := data(1 << 20)
	for _, impl := range []kernelImpl{floor, fast} {
		if got := impl.sum(x); got != want {
			b.Fatalf("%s: sum of 1M elements %v, want %v", impl.name, got, want)
		}
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); ffikit.AllocateUntil(stop) }() // keeps the collector cycling
	defer func() { close(stop); <-done }()

	const batch = 40 * time.Millisecond
	var floorWorst, fastWorst []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		floorWorst = append(floorWorst, worstPauseDuring(batch, func() { sink = floor.sum(x) }))
		fastWorst = append(fastWorst, worstPauseDuring(batch, func() { sink = fast.sum(x) }))
	}
	b.StopTimer()
	fastMax, floorMax := maxOf(fastWorst), maxOf(floorWorst)
	b.ReportMetric(fastMax*1e3, "worst-pause-ms")
	b.ReportMetric(floorMax*1e3, "floor-worst-pause-ms")
	b.ReportMetric(medianOf(fastWorst)*1e3, "median-worst-pause-ms")
	b.ReportMetric(medianOf(floorWorst)*1e3, "floor-median-worst-pause-ms")
	b.ReportMetric((fastMax-floorMax)*1e3, "pause-excess-ms")
	b.ReportMetric((medianOf(fastWorst)-medianOf(floorWorst))*1e3, "median-pause-excess-ms")
}

// worstPauseDuring calls call for at least d and returns the worst stop-the-world pause
// (seconds, its histogram bucket's upper bound) that ended meanwhile; 0 when there was none.
func worstPauseDuring(d time.Duration, call func()) float64 {
	before := pauseHistogram()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		call()
	}
	after := pauseHistogram()
	for i := len(after.Counts) - 1; i >= 0; i-- {
		if after.Counts[i] > before.Counts[i] {
			if i+1 < len(after.Buckets)-1 {
				return after.Buckets[i+1]
			}
			return after.Buckets[i] // the last bucket is open-ended
		}
	}
	return 0
}

// pauseHistogram reads the runtime's histogram of stop-the-world pauses.
func pauseHistogram() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/pauses/total/gc:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
