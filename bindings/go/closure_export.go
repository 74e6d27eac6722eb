package ffikit

// #include <stdint.h>
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// ffikitGoClosure is the generic C callback of every Go Closure: ffikit's trampoline calls
// it with the closure's handle as userdata, the argument pointers and the return storage.
//
//export ffikitGoClosure
func ffikitGoClosure(userdata unsafe.Pointer, args *unsafe.Pointer, ret unsafe.Pointer) {
	state := cgo.Handle(uintptr(userdata)).Value().(*closureState)
	var slice []unsafe.Pointer
	if state.nargs > 0 {
		slice = unsafe.Slice(args, state.nargs)
	}
	state.fn(slice, ret)
}
