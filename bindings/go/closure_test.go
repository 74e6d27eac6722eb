package ffikit_test

import (
	"errors"
	"runtime"
	"sort"
	"sync/atomic"
	"testing"
	"unsafe"

	ffikit "github.com/ffikit/ffikit/bindings/go"
)

// libc's qsort calls a Go comparator through a Closure.
func TestClosureQsort(t *testing.T) {
	ctx := newContext(t, "asm")
	var calls atomic.Int64
	cmp, err := ctx.NewClosure("i32(ptr, ptr)", func(args []unsafe.Pointer, ret unsafe.Pointer) {
		calls.Add(1)
		a := **(**int32)(args[0])
		b := **(**int32)(args[1])
		r := int32(0)
		if a < b {
			r = -1
		} else if a > b {
			r = 1
		}
		*(*int32)(ret) = r
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cmp.Close()
	libc, err := ctx.OpenLibrary("libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	qsort, err := libc.Prepare("qsort", "void(ptr, usize, usize, ptr)")
	if err != nil {
		t.Fatal(err)
	}
	v := make([]int32, 500)
	for i := range v {
		v[i] = int32((i*7919)%503 - 250)
	}
	want := append([]int32(nil), v...)
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	var pin runtime.Pinner
	pin.Pin(&v[0]) // C holds the array's address for the call
	defer pin.Unpin()
	base, n, size, code := unsafe.Pointer(&v[0]), uintptr(len(v)), uintptr(4), cmp.Code()
	if err := qsort.Call(nil, unsafe.Pointer(&base), unsafe.Pointer(&n), unsafe.Pointer(&size), unsafe.Pointer(&code)); err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if v[i] != want[i] {
			t.Fatalf("v[%d] = %d, want %d", i, v[i], want[i])
		}
	}
	if calls.Load() < int64(len(v)-1) {
		t.Fatalf("only %d comparator calls", calls.Load())
	}
}

// A thread that C creates (pthread_create) calls a Go closure.
func TestClosureOnACThread(t *testing.T) {
	ctx := newContext(t, "native")
	var seen atomic.Uint64
	start, err := ctx.NewClosure("ptr(ptr)", func(args []unsafe.Pointer, ret unsafe.Pointer) {
		arg := *(*uintptr)(args[0])
		seen.Store(uint64(arg))
		*(*uintptr)(ret) = arg + 1
	})
	if err != nil {
		t.Fatal(err)
	}
	defer start.Close()
	libc, err := ctx.OpenLibrary("libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	create, err := libc.Prepare("pthread_create", "i32(ptr, ptr, ptr, ptr)")
	if err != nil {
		t.Fatal(err)
	}
	join, err := libc.Prepare("pthread_join", "i32(u64, ptr)")
	if err != nil {
		t.Fatal(err)
	}
	tid, result := new(uint64), new(uintptr)
	tidp, attr, code, arg := unsafe.Pointer(tid), unsafe.Pointer(nil), start.Code(), uintptr(41)
	rc := new(int64)
	if err := create.Call(unsafe.Pointer(rc), unsafe.Pointer(&tidp), unsafe.Pointer(&attr), unsafe.Pointer(&code), unsafe.Pointer(&arg)); err != nil || int32(*rc) != 0 {
		t.Fatalf("pthread_create: %v, rc %d", err, int32(*rc))
	}
	resultp := unsafe.Pointer(result)
	if err := join.Call(unsafe.Pointer(rc), unsafe.Pointer(tid), unsafe.Pointer(&resultp)); err != nil || int32(*rc) != 0 {
		t.Fatalf("pthread_join: %v, rc %d", err, int32(*rc))
	}
	if seen.Load() != 41 || *result != 42 {
		t.Fatalf("the closure saw %d and returned %d", seen.Load(), *result)
	}
}

// Closures have no slot limit: far more than purego's 2,000 are made and freed.
func TestClosuresWithoutALimit(t *testing.T) {
	ctx := newContext(t, "native")
	libc, err := ctx.OpenLibrary("libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	bsearch, err := libc.Prepare("bsearch", "ptr(ptr, ptr, usize, usize, ptr)")
	if err != nil {
		t.Fatal(err)
	}
	arr := []int64{1, 3, 5, 7, 9}
	var pin runtime.Pinner
	pin.Pin(&arr[0])
	defer pin.Unpin()
	for i := 0; i < 5000; i++ {
		calls := 0
		c, err := ctx.NewClosure("i32(ptr, ptr)", func(args []unsafe.Pointer, ret unsafe.Pointer) {
			calls++
			a, b := **(**int64)(args[0]), **(**int64)(args[1])
			*(*int32)(ret) = int32(a - b)
		})
		if err != nil {
			t.Fatalf("closure %d: %v", i, err)
		}
		key := int64(2*(i%5) + 1)
		keyp, base, n, size, code := unsafe.Pointer(&key), unsafe.Pointer(&arr[0]), uintptr(5), uintptr(8), c.Code()
		var found unsafe.Pointer
		err = bsearch.Call(unsafe.Pointer(&found), unsafe.Pointer(&keyp), unsafe.Pointer(&base), unsafe.Pointer(&n), unsafe.Pointer(&size), unsafe.Pointer(&code))
		c.Close()
		if err != nil || found != unsafe.Pointer(&arr[i%5]) || calls == 0 {
			t.Fatalf("closure %d: bsearch found %p (want %p), %d calls, %v", i, found, &arr[i%5], calls, err)
		}
	}
}

func TestClosureErrors(t *testing.T) {
	ctx := newContext(t, "native")
	_, err := ctx.NewClosure("i32(ptr", func([]unsafe.Pointer, unsafe.Pointer) {})
	var e *ffikit.Error
	if !errors.As(err, &e) || e.Status != ffikit.StatusInvalidSignature || e.Message == "" {
		t.Fatalf("bad signature: %v", err)
	}
	if _, err := ctx.NewClosure("void()", nil); !errors.Is(err, ffikit.StatusNullArgument) {
		t.Fatalf("nil fn: %v", err)
	}
	c, err := ctx.NewClosure("void()", func([]unsafe.Pointer, unsafe.Pointer) {})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close() // idempotent
	if c.Code() != nil {
		t.Fatal("Code after Close")
	}
}
