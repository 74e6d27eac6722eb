//go:build !amd64 && !arm64

package fastcall

// Available: no trampoline for this architecture; every call goes through the
// C API (cgo, or purego without cgo).
const Available = false

// Call is never called where Available is false.
func Call(fn uintptr, f *Frame) (ok bool) {
	panic("ffikit: no fast-call trampoline on this architecture")
}
