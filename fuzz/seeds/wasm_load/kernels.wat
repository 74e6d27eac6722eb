(module
  (memory (export "memory") 1)
  (func (export "ffikit_noop"))
  (func (export "ffikit_add_u32") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "ffikit_sum_f64") (param i32 i32) (result f64) (f64.const 0))
  (global (export "g") (mut i32) (i32.const 7))
  (table (export "t") 2 funcref)
  (data (i32.const 16) "hello"))