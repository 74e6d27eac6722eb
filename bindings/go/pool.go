package ffikit

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
	p unsafe.Pointer
	// One Go wrapper per C context, made on its first checkout; a warm Acquire only looks
	// it up (sync.Map's read path: no lock, no allocation).
	wrappers sync.Map
	closed   bool
}

// NewPool makes a pool of at most maxContexts contexts of backend, created on demand.
func NewPool(backend string, maxContexts int) (*Pool, error) {
	p, st, msg := capiPoolNew(backend, maxContexts)
	if st != StatusOK {
		return nil, &Error{Op: "NewPool", Status: st, Message: msg}
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
	var c unsafe.Pointer
	var st Status
	if timeout < 0 {
		c, st = capiPoolAcquire(p.p)
	} else {
		c, st = capiPoolAcquireTimeout(p.p, uint64(timeout.Milliseconds()))
	}
	runtime.KeepAlive(p)
	if err := check("Acquire", st, nil); err != nil {
		return nil, err
	}
	// A pointer-shaped key: boxing it into the map's interface allocates nothing.
	key := c
	if w, ok := p.wrappers.Load(key); ok {
		return w.(*Context), nil
	}
	// A native or asm context is never discarded before the pool is freed (only a wasm
	// context can trap, and only a pool set to discard trapped contexts drops one), so a
	// wrapper's kernel address stays valid as long as the pool lives.
	ctx := wrapContext(c, true)
	w, _ := p.wrappers.LoadOrStore(key, ctx)
	return w.(*Context), nil
}

// Release returns a context to the pool, which keeps it for the next Acquire (in a pool set
// to discard trapped contexts, one whose call trapped is dropped and replaced on demand).
// The context must not be used afterwards by this goroutine.
func (p *Pool) Release(ctx *Context) {
	if p.p == nil || ctx == nil || ctx.c == nil {
		return
	}
	capiPoolRelease(p.p, ctx.c)
	runtime.KeepAlive(p)
}

// SetDiscardTrapped sets whether a context whose call trapped (a wasm trap or deadline) is
// dropped when it is released, so that the next Acquire gets a fresh one. Off by default: a
// trap is the error of that call only, and the context stays usable with its buffers.
func (p *Pool) SetDiscardTrapped(on bool) {
	if p.p == nil {
		return
	}
	capiPoolSetDiscardTrapped(p.p, on)
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
		capiPoolFree(p.p)
		p.p = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}
