;; SIMD kernels for the wasm training backend, written in WebAssembly text because tfjs's own
;; wasm module has no kernel for these and JavaScript cannot use SIMD. The module imports tfjs's
;; memory, so the kernels read and write tensors where they lie. Pointers are byte offsets.
;; binary.ts holds the compiled bytes: `npm run build:wat -w @edgeloop/models` after editing this
;; file (a test checks that the two agree).
(module
  (import "env" "memory" (memory 1))
  ;; dx of a 2x2, stride-2 max pool whose windows lie side by side inside the input (NHWC, float32,
  ;; C a multiple of 4). Pointers are byte offsets into the memory. Each window gives dy to its
  ;; first maximum in row-major order, starting from -Infinity with a strict >, so NaN and -Infinity
  ;; are never chosen; the window's other three cells get 0. Cells outside every window are not written.
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $B i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $c4 i32)
    (local $cb i32) (local $rs i32) (local $win i32) (local $o i32) (local $g i32)
    (local $va v128) (local $vb v128) (local $vc v128) (local $vd v128)
    (local $ma v128) (local $mb v128) (local $mc v128) (local $md v128)
    (local $best v128) (local $gv v128) (local $ninf v128)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rs (i32.mul (local.get $W) (local.get $cb)))
    (local.set $ninf (f32x4.splat (f32.const -inf)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yl
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $OH)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xl
          (br_if $xdone (i32.ge_u (local.get $ox) (local.get $OW)))
          ;; byte offset of the window's top-left cell: ((b*H + 2*oy)*W + 2*ox) * C * 4
          (local.set $win
            (i32.mul
              (i32.add
                (i32.mul
                  (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.shl (local.get $oy) (i32.const 1)))
                  (local.get $W))
                (i32.shl (local.get $ox) (i32.const 1)))
              (local.get $cb)))
          (local.set $c4 (i32.const 0))
          (block $cdone (loop $cl
            (br_if $cdone (i32.ge_u (local.get $c4) (local.get $cb)))
            (local.set $o (i32.add (local.get $win) (local.get $c4)))
            (local.set $va (v128.load (i32.add (local.get $x) (local.get $o))))
            (local.set $vb (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $cb)))))
            (local.set $vc (v128.load (i32.add (local.get $x) (i32.add (local.get $o) (local.get $rs)))))
            (local.set $vd (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $o) (local.get $rs)) (local.get $cb)))))
            (local.set $gv (v128.load (local.get $g)))
            (local.set $ma (f32x4.gt (local.get $va) (local.get $ninf)))
            (local.set $best (v128.bitselect (local.get $va) (local.get $ninf) (local.get $ma)))
            (local.set $mb (f32x4.gt (local.get $vb) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $vb) (local.get $best) (local.get $mb)))
            (local.set $mc (f32x4.gt (local.get $vc) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $vc) (local.get $best) (local.get $mc)))
            (local.set $md (f32x4.gt (local.get $vd) (local.get $best)))
            ;; a later maximum clears every earlier choice
            (local.set $mc (v128.andnot (local.get $mc) (local.get $md)))
            (local.set $mb (v128.andnot (v128.andnot (local.get $mb) (local.get $md)) (local.get $mc)))
            (local.set $ma (v128.andnot (v128.andnot (v128.andnot (local.get $ma) (local.get $md)) (local.get $mc)) (local.get $mb)))
            (v128.store (i32.add (local.get $dx) (local.get $o)) (v128.and (local.get $gv) (local.get $ma)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $o) (local.get $cb))) (v128.and (local.get $gv) (local.get $mb)))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $o) (local.get $rs))) (v128.and (local.get $gv) (local.get $mc)))
            (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $o) (local.get $rs)) (local.get $cb))) (v128.and (local.get $gv) (local.get $md)))
            (local.set $g (i32.add (local.get $g) (i32.const 16)))
            (local.set $c4 (i32.add (local.get $c4) (i32.const 16)))
            (br $cl)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xl)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yl)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl)))
  )
)
