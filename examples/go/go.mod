module github.com/ffikit/ffikit/examples/go

go 1.22

require github.com/ffikit/ffikit/bindings/go v0.0.0

replace github.com/ffikit/ffikit/bindings/go => ../../bindings/go
