//go:build amd64 || arm64

package fastcall

// Available: this architecture has a trampoline (call_amd64.s, call_arm64.s).
const Available = true

// Call calls the C function fn on the goroutine's own stack, with the argument registers
// loaded from f and the return registers stored back into it; false when the canary at the
// bottom of its frame was overwritten (the callee used more than FrameBytes of stack).
//
//go:noescape
func Call(fn uintptr, f *Frame) (ok bool)
