module github.com/ffikit/ffikit/bindings/go/goffi-bench

go 1.25.0

require (
	github.com/ffikit/ffikit/bindings/go v0.0.0
	github.com/go-webgpu/goffi v0.6.3
)

// goffi is not served by the module proxy reached here: `cargo xtask bench-matrix` unpacks
// shared/peers/goffi-0.6.3-src.tar.gz into target/peers/ (xtask/src/peers.rs).
replace github.com/go-webgpu/goffi => ../../../target/peers/goffi-0.6.3

// The binding of this checkout, for its cgo floor (internal/direct).
//
// Build and test with `-ldflags=-linkmode=internal`: the cgo floor makes cmd/link choose external
// linking, where goffi v0.6.3's assembly stubs fail to link ("unhandled relocation for
// goffi_dlopen (type 65 (SDYNIMPORT) rtype 7 (R_CALL))", go-webgpu/goffi#72, fix proposed in #73).
replace github.com/ffikit/ffikit/bindings/go => ../
