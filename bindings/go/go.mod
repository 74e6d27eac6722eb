module github.com/ffikit/ffikit/bindings/go

go 1.22
