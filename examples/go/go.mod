module github.com/ffikit/ffikit/examples/go

go 1.25.0

require github.com/ffikit/ffikit/bindings/go v0.0.0

require github.com/ebitengine/purego v0.11.3 // indirect

replace github.com/ffikit/ffikit/bindings/go => ../../bindings/go
