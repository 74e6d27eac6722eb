package ffikit

/*
#cgo noescape ffikit_pool_acquire
#cgo noescape ffikit_pool_acquire_timeout
#cgo nocallback ffikit_pool_acquire_timeout
#cgo nocallback ffikit_pool_acquire
#cgo noescape ffikit_pool_release
#cgo nocallback ffikit_pool_release
#include <ffikit.h>
#include <stdlib.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Pool hands each goroutine its own Context, so concurrent goroutines never share one. It
// wraps the C pool: bounded, lock-free when warm (the OS thread gets back the context it
// released last). A Pool is safe for concurrent use.
type Pool struct {
	p *C.ffikit_pool
	// One Go wrapper per C context, made on its first checkout; a warm Acquire only looks
	// it up (sync.Map's read path: no lock, no allocation).
	wrappers sync.Map
	closed   bool
}

// NewPool makes a pool of at most maxContexts contexts of backend, created on demand.
func NewPool(backend string, maxContexts int) (*Pool, error) {
	cs := C.CString(backend)
	defer C.free(unsafe.Pointer(cs))
	var msg [512]C.char
	var p *C.ffikit_pool
	st := C.ffikit_pool_new_msg(cs, C.size_t(maxContexts), &p, &msg[0], C.size_t(len(msg)))
	if st != C.FFIKIT_STATUS_OK {
		return nil, &Error{Op: "NewPool", Status: Status(st), Message: C.GoString(&msg[0])}
	}
	pool := &Pool{p: p}
	runtime.SetFinalizer(pool, (*Pool).Close)
	return pool, nil
}

// Acquire checks out a context without waiting; StatusPoolExhausted when all are in use.
// Return it with Release.
func (p *Pool) Acquire() (*Context, error) {
	return p.acquire(-1)
}

// AcquireTimeout checks out a context, waiting up to timeout when all are in use;
// StatusPoolTimeout when none came free.
func (p *Pool) AcquireTimeout(timeout time.Duration) (*Context, error) {
	return p.acquire(timeout)
}

func (p *Pool) acquire(timeout time.Duration) (*Context, error) {
	if p.p == nil {
		return nil, closedError("Acquire")
	}
	var c *C.ffikit_context
	var st C.enum_ffikit_status
	if timeout < 0 {
		st = C.ffikit_pool_acquire(p.p, &c)
	} else {
		st = C.ffikit_pool_acquire_timeout(p.p, C.uint64_t(timeout.Milliseconds()), &c)
	}
	runtime.KeepAlive(p)
	if err := check("Acquire", st, nil); err != nil {
		return nil, err
	}
	// A pointer-shaped key: boxing it into the map's interface allocates nothing.
	key := unsafe.Pointer(c)
	if w, ok := p.wrappers.Load(key); ok {
		return w.(*Context), nil
	}
	// A native or asm context is never discarded before the pool is freed (only wasm
	// traps poison), so a wrapper's kernel address stays valid as long as the pool lives.
	ctx := wrapContext(c, true)
	w, _ := p.wrappers.LoadOrStore(key, ctx)
	return w.(*Context), nil
}

// Release returns a context to the pool (a poisoned one is dropped and replaced on demand).
// The context must not be used afterwards by this goroutine.
func (p *Pool) Release(ctx *Context) {
	if p.p == nil || ctx == nil || ctx.c == nil {
		return
	}
	C.ffikit_pool_release(p.p, ctx.c)
	runtime.KeepAlive(p)
}

// Close frees the pool and its contexts (idempotent). Every context must be released first.
func (p *Pool) Close() error {
	if p.p != nil {
		p.wrappers.Range(func(_, w any) bool {
			w.(*Context).freeArgs()
			w.(*Context).c = nil
			return true
		})
		C.ffikit_pool_free(p.p)
		p.p = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}
