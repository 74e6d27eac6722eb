//go:build cgo

package ffikit

// #include <stdint.h>
import "C"

import "unsafe"

// ffikitGoClosure is the C callback of every Go Closure in a cgo build (capi_cgo.go passes it
// to ffikit_closure_new); runClosure dispatches by the closure's handle.
//
//export ffikitGoClosure
func ffikitGoClosure(userdata unsafe.Pointer, args *unsafe.Pointer, ret unsafe.Pointer) {
	runClosure(userdata, args, ret)
}
