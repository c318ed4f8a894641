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

  ;; c[k, n] += sum over m of a_k[m] * b[m, n], for k < K, m < M, n < N, N a multiple of 16:
  ;; a product with few rows (a filter gradient with a handful of taps and channels) whose rows
  ;; a_k start anywhere. rows holds the byte offset of each a_k (an i32 per row); consecutive
  ;; elements of a row lie $AS bytes apart (4 for a dense row, 4*C for a channel of an NHWC grid).
  ;; b is row-major [M, N], c row-major [K, N] and already initialised. M goes in tiles of 256, so
  ;; a tile of b stays in the L1 cache while every pair of rows passes over it; a pair keeps
  ;; 2 x 16 sums in registers. With an odd K the last row runs alone.
  (func (export "gemmRows")
    (param $rows i32) (param $K i32) (param $M i32) (param $b i32) (param $N i32) (param $c i32) (param $AS i32)
    (local $m0 i32) (local $m1 i32) (local $n0 i32) (local $k i32) (local $m i32)
    (local $pa0 i32) (local $pa1 i32) (local $pb i32) (local $pc0 i32) (local $pc1 i32) (local $nb i32) (local $two i32)
    (local $x0 v128) (local $x1 v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local.set $nb (i32.shl (local.get $N) (i32.const 2)))
    (local.set $m0 (i32.const 0))
    (block $tdone (loop $tl
      (br_if $tdone (i32.ge_u (local.get $m0) (local.get $M)))
      (local.set $m1 (i32.add (local.get $m0) (i32.const 256)))
      (if (i32.gt_u (local.get $m1) (local.get $M)) (then (local.set $m1 (local.get $M))))
      (local.set $n0 (i32.const 0))
      (block $ndone (loop $nl
        (br_if $ndone (i32.ge_u (local.get $n0) (local.get $N)))
        (local.set $k (i32.const 0))
        (block $kdone (loop $kl
          (br_if $kdone (i32.ge_u (local.get $k) (local.get $K)))
          ;; two rows, or the last one twice (its second copy is not stored)
          (local.set $two (i32.lt_u (i32.add (local.get $k) (i32.const 1)) (local.get $K)))
          (local.set $pa0 (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2))))
                                   (i32.mul (local.get $m0) (local.get $AS))))
          (local.set $pa1 (select
            (i32.add (i32.load (i32.add (local.get $rows) (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 2))))
                     (i32.mul (local.get $m0) (local.get $AS)))
            (local.get $pa0)
            (local.get $two)))
          (local.set $pc0 (i32.add (local.get $c)
            (i32.shl (i32.add (i32.mul (local.get $k) (local.get $N)) (local.get $n0)) (i32.const 2))))
          (local.set $pc1 (select (i32.add (local.get $pc0) (local.get $nb)) (local.get $pc0) (local.get $two)))
          (local.set $c0 (v128.load offset=0 (local.get $pc0)))
          (local.set $c1 (v128.load offset=16 (local.get $pc0)))
          (local.set $c2 (v128.load offset=32 (local.get $pc0)))
          (local.set $c3 (v128.load offset=48 (local.get $pc0)))
          (local.set $c4 (v128.load offset=0 (local.get $pc1)))
          (local.set $c5 (v128.load offset=16 (local.get $pc1)))
          (local.set $c6 (v128.load offset=32 (local.get $pc1)))
          (local.set $c7 (v128.load offset=48 (local.get $pc1)))
          (local.set $pb (i32.add (local.get $b)
            (i32.shl (i32.add (i32.mul (local.get $m0) (local.get $N)) (local.get $n0)) (i32.const 2))))
          (local.set $m (local.get $m0))
          (block $mdone (loop $ml
            (br_if $mdone (i32.ge_u (local.get $m) (local.get $m1)))
            (local.set $x0 (v128.load32_splat (local.get $pa0)))
            (local.set $x1 (v128.load32_splat (local.get $pa1)))
            (local.set $b0 (v128.load offset=0 (local.get $pb)))
            (local.set $b1 (v128.load offset=16 (local.get $pb)))
            (local.set $b2 (v128.load offset=32 (local.get $pb)))
            (local.set $b3 (v128.load offset=48 (local.get $pb)))
            (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x0) (local.get $b0))))
            (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x0) (local.get $b1))))
            (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $x0) (local.get $b2))))
            (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $x0) (local.get $b3))))
            (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (local.get $x1) (local.get $b0))))
            (local.set $c5 (f32x4.add (local.get $c5) (f32x4.mul (local.get $x1) (local.get $b1))))
            (local.set $c6 (f32x4.add (local.get $c6) (f32x4.mul (local.get $x1) (local.get $b2))))
            (local.set $c7 (f32x4.add (local.get $c7) (f32x4.mul (local.get $x1) (local.get $b3))))
            (local.set $pa0 (i32.add (local.get $pa0) (local.get $AS)))
            (local.set $pa1 (i32.add (local.get $pa1) (local.get $AS)))
            (local.set $pb (i32.add (local.get $pb) (local.get $nb)))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br $ml)))
          (v128.store offset=0 (local.get $pc0) (local.get $c0))
          (v128.store offset=16 (local.get $pc0) (local.get $c1))
          (v128.store offset=32 (local.get $pc0) (local.get $c2))
          (v128.store offset=48 (local.get $pc0) (local.get $c3))
          (if (local.get $two) (then
            (v128.store offset=0 (local.get $pc1) (local.get $c4))
            (v128.store offset=16 (local.get $pc1) (local.get $c5))
            (v128.store offset=32 (local.get $pc1) (local.get $c6))
            (v128.store offset=48 (local.get $pc1) (local.get $c7))))
          (local.set $k (i32.add (local.get $k) (i32.const 2)))
          (br $kl)))
        (local.set $n0 (i32.add (local.get $n0) (i32.const 16)))
        (br $nl)))
      (local.set $m0 (local.get $m1))
      (br $tl)))
  )

  ;; out[r, c] = x[r, c] + bias[c] for r < rows, c < C, C a multiple of 4: a bias add over the
  ;; last axis, the same float32 additions as tfjs's broadcasting Add.
  (func (export "biasAdd") (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $r i32) (local $c i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $cl
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $cb)))
        (v128.store (i32.add (local.get $out) (local.get $c))
          (f32x4.add (v128.load (i32.add (local.get $x) (local.get $c))) (v128.load (i32.add (local.get $bias) (local.get $c)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $cl)))
      (local.set $x (i32.add (local.get $x) (local.get $cb)))
      (local.set $out (i32.add (local.get $out) (local.get $cb)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; The ReLU gradient, dy * step(x), for n floats (n a multiple of 4): dy where x > 0, NaN where x
  ;; is NaN (step(NaN) is NaN in tfjs), and dy * 0 elsewhere (so -0, or NaN for an infinite dy),
  ;; exactly what tfjs's Step, Cast and Multiply give.
  (func (export "reluGrad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    (local $end i32) (local $vx v128) (local $vd v128) (local $zero v128) (local $nan v128)
    (local.set $zero (f32x4.splat (f32.const 0)))
    (local.set $nan (f32x4.splat (f32.const nan)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (local.set $vx (v128.load (local.get $x)))
      (local.set $vd (v128.load (local.get $dy)))
      (v128.store (local.get $out)
        (v128.bitselect
          (local.get $vd)
          (v128.bitselect (local.get $nan) (f32x4.mul (local.get $vd) (local.get $zero)) (f32x4.ne (local.get $vx) (local.get $vx)))
          (f32x4.gt (local.get $vx) (local.get $zero))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $l)))
  )

  ;; sums[c] = sum over r of x[r, c], in float64, for r < rows and c < C, C a multiple of 16: the
  ;; bias gradient. sums is C float64s. Sixteen columns at a time, in eight f64x2 sums.
  (func (export "sumColumns") (param $x i32) (param $sums i32) (param $rows i32) (param $C i32)
    (local $c i32) (local $r i32) (local $p i32) (local $rb i32) (local $v v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local.set $rb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $c (i32.const 0))
    (block $cdone (loop $cl
      (br_if $cdone (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
      (local.set $s2 (v128.const i64x2 0 0)) (local.set $s3 (v128.const i64x2 0 0))
      (local.set $s4 (v128.const i64x2 0 0)) (local.set $s5 (v128.const i64x2 0 0))
      (local.set $s6 (v128.const i64x2 0 0)) (local.set $s7 (v128.const i64x2 0 0))
      (local.set $p (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $r (i32.const 0))
      (block $rdone (loop $rl
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $v (v128.load offset=0 (local.get $p)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $v (v128.load offset=16 (local.get $p)))
        (local.set $s2 (f64x2.add (local.get $s2) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s3 (f64x2.add (local.get $s3) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $v (v128.load offset=32 (local.get $p)))
        (local.set $s4 (f64x2.add (local.get $s4) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s5 (f64x2.add (local.get $s5) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $v (v128.load offset=48 (local.get $p)))
        (local.set $s6 (f64x2.add (local.get $s6) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $s7 (f64x2.add (local.get $s7) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $rb)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rl)))
      (local.set $p (i32.add (local.get $sums) (i32.shl (local.get $c) (i32.const 3))))
      (v128.store offset=0 (local.get $p) (local.get $s0))
      (v128.store offset=16 (local.get $p) (local.get $s1))
      (v128.store offset=32 (local.get $p) (local.get $s2))
      (v128.store offset=48 (local.get $p) (local.get $s3))
      (v128.store offset=64 (local.get $p) (local.get $s4))
      (v128.store offset=80 (local.get $p) (local.get $s5))
      (v128.store offset=96 (local.get $p) (local.get $s6))
      (v128.store offset=112 (local.get $p) (local.get $s7))
      (local.set $c (i32.add (local.get $c) (i32.const 16)))
      (br $cl)))
  )

  ;; A stride-1 convolution on a zero-padded NHWC grid: for each output row r in [r0, r1) and each
  ;; cell x < OWP of it, out[r, x, n] = sum over taps t and channels c of
  ;; g[cell + x + t, c] * w[t*C + c, n], where cell = (b*GH + oy)*GW is the grid cell of the row's
  ;; first output (b = r / OH, oy = r mod OH) and tap t lies offs[t] bytes further on. g is
  ;; [cells, C]; offs holds T i32 byte offsets; w is row-major [T*C, N], N a multiple of 16; out is
  ;; [rows, OWP, N] with OWP even. The forward pass and the stride-1 input gradient both take this
  ;; form (the latter on the padded dy with the flipped filter). Two cells by sixteen outputs are
  ;; summed in eight registers; each weight vector loaded serves both cells. Cells past a row's
  ;; outputs (when OWP exceeds them) read the grid's next cells and are discarded by the caller.
  (func (export "convRows")
    (param $g i32) (param $offs i32) (param $T i32) (param $C i32) (param $w i32) (param $N i32)
    (param $out i32) (param $r0 i32) (param $r1 i32) (param $OH i32) (param $GH i32) (param $GW i32) (param $OWP i32)
    (local $r i32) (local $b i32) (local $cx i32) (local $n0 i32) (local $t i32)
    (local $cb i32) (local $nb i32) (local $parow i32) (local $porow i32) (local $pa i32) (local $po i32)
    (local $pt i32) (local $pend i32) (local $pw i32)
    (local $x0 v128) (local $x1 v128) (local $wv v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $nb (i32.shl (local.get $N) (i32.const 2)))
    (local.set $r (local.get $r0))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $b (i32.div_u (local.get $r) (local.get $OH)))
      (local.set $parow (i32.add (local.get $g)
        (i32.mul
          (i32.mul
            (i32.add (i32.mul (local.get $b) (local.get $GH)) (i32.sub (local.get $r) (i32.mul (local.get $b) (local.get $OH))))
            (local.get $GW))
          (local.get $cb))))
      (local.set $porow (i32.add (local.get $out) (i32.mul (i32.mul (local.get $r) (local.get $OWP)) (local.get $nb))))
      (local.set $cx (i32.const 0))
      (block $xdone (loop $xl
        (br_if $xdone (i32.ge_u (local.get $cx) (local.get $OWP)))
        (local.set $pa (i32.add (local.get $parow) (i32.mul (local.get $cx) (local.get $cb))))
        (local.set $po (i32.add (local.get $porow) (i32.mul (local.get $cx) (local.get $nb))))
        (local.set $n0 (i32.const 0))
        (block $ndone (loop $nl
          (br_if $ndone (i32.ge_u (local.get $n0) (local.get $N)))
          (local.set $c0 (v128.const i64x2 0 0)) (local.set $c1 (v128.const i64x2 0 0))
          (local.set $c2 (v128.const i64x2 0 0)) (local.set $c3 (v128.const i64x2 0 0))
          (local.set $c4 (v128.const i64x2 0 0)) (local.set $c5 (v128.const i64x2 0 0))
          (local.set $c6 (v128.const i64x2 0 0)) (local.set $c7 (v128.const i64x2 0 0))
          (local.set $pw (i32.add (local.get $w) (i32.shl (local.get $n0) (i32.const 2))))
          (local.set $t (i32.const 0))
          (block $tdone (loop $tl
            (br_if $tdone (i32.ge_u (local.get $t) (local.get $T)))
            (local.set $pt (i32.add (local.get $pa) (i32.load (i32.add (local.get $offs) (i32.shl (local.get $t) (i32.const 2))))))
            (local.set $pend (i32.add (local.get $pt) (local.get $cb)))
            (block $cdone (loop $cl
              (br_if $cdone (i32.ge_u (local.get $pt) (local.get $pend)))
              (local.set $x0 (v128.load32_splat (local.get $pt)))
              (local.set $x1 (v128.load32_splat (i32.add (local.get $pt) (local.get $cb))))
              (local.set $wv (v128.load offset=0 (local.get $pw)))
              (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x0) (local.get $wv))))
              (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (local.get $x1) (local.get $wv))))
              (local.set $wv (v128.load offset=16 (local.get $pw)))
              (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x0) (local.get $wv))))
              (local.set $c5 (f32x4.add (local.get $c5) (f32x4.mul (local.get $x1) (local.get $wv))))
              (local.set $wv (v128.load offset=32 (local.get $pw)))
              (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $x0) (local.get $wv))))
              (local.set $c6 (f32x4.add (local.get $c6) (f32x4.mul (local.get $x1) (local.get $wv))))
              (local.set $wv (v128.load offset=48 (local.get $pw)))
              (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $x0) (local.get $wv))))
              (local.set $c7 (f32x4.add (local.get $c7) (f32x4.mul (local.get $x1) (local.get $wv))))
              (local.set $pt (i32.add (local.get $pt) (i32.const 4)))
              (local.set $pw (i32.add (local.get $pw) (local.get $nb)))
              (br $cl)))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $tl)))
          (v128.store offset=0 (local.get $po) (local.get $c0))
          (v128.store offset=16 (local.get $po) (local.get $c1))
          (v128.store offset=32 (local.get $po) (local.get $c2))
          (v128.store offset=48 (local.get $po) (local.get $c3))
          (v128.store offset=0 (i32.add (local.get $po) (local.get $nb)) (local.get $c4))
          (v128.store offset=16 (i32.add (local.get $po) (local.get $nb)) (local.get $c5))
          (v128.store offset=32 (i32.add (local.get $po) (local.get $nb)) (local.get $c6))
          (v128.store offset=48 (i32.add (local.get $po) (local.get $nb)) (local.get $c7))
          (local.set $po (i32.add (local.get $po) (i32.const 64)))
          (local.set $n0 (i32.add (local.get $n0) (i32.const 16)))
          (br $nl)))
        (local.set $cx (i32.add (local.get $cx) (i32.const 2)))
        (br $xl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  ;; One Adam step for n floats, the float32 operations in the order tfjs's AdamOptimizer runs them
  ;; as separate kernels, so the result is the same to the bit:
  ;;   m' = m*b1 + g*(1-b1)        v' = v*b2 + (g*g)*(1-b2)
  ;;   value' = ((m' / (1-b1^t)) / (sqrt(v' / (1-b2^t)) + eps)) * (-lr) + value
  ;; The constants come computed and rounded to float32 as tfjs rounds them. Outputs go to fresh
  ;; buffers (nothing is updated in place). Four at a time, then one at a time for the rest.
  (func (export "adamUpdate")
    (param $value i32) (param $m i32) (param $v i32) (param $g i32)
    (param $outValue i32) (param $outM i32) (param $outV i32) (param $n i32)
    (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32)
    (param $omab1 f32) (param $omab2 f32) (param $eps f32) (param $negLr f32)
    (local $i i32) (local $end4 i32) (local $o i32)
    (local $vb1 v128) (local $vomb1 v128) (local $vb2 v128) (local $vomb2 v128)
    (local $vomab1 v128) (local $vomab2 v128) (local $veps v128) (local $vlr v128)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vomb1 (f32x4.splat (local.get $omb1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vomb2 (f32x4.splat (local.get $omb2)))
    (local.set $vomab1 (f32x4.splat (local.get $omab1)))
    (local.set $vomab2 (f32x4.splat (local.get $omab2)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vlr (f32x4.splat (local.get $negLr)))
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $i (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
      (local.set $mv (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $vb1))
        (f32x4.mul (local.get $gv) (local.get $vomb1))))
      (local.set $vv (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $vb2))
        (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $vomb2))))
      (v128.store (i32.add (local.get $outM) (local.get $o)) (local.get $mv))
      (v128.store (i32.add (local.get $outV) (local.get $o)) (local.get $vv))
      (v128.store (i32.add (local.get $outValue) (local.get $o))
        (f32x4.add
          (f32x4.mul
            (f32x4.div
              (f32x4.div (local.get $mv) (local.get $vomab1))
              (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $vomab2))) (local.get $veps)))
            (local.get $vlr))
          (v128.load (i32.add (local.get $value) (local.get $o)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (block $tdone (loop $tl
      (br_if $tdone (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
      (local.set $ms (f32.add
        (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $b1))
        (f32.mul (local.get $gs) (local.get $omb1))))
      (local.set $vs (f32.add
        (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
        (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $omb2))))
      (f32.store (i32.add (local.get $outM) (local.get $o)) (local.get $ms))
      (f32.store (i32.add (local.get $outV) (local.get $o)) (local.get $vs))
      (f32.store (i32.add (local.get $outValue) (local.get $o))
        (f32.add
          (f32.mul
            (f32.div
              (f32.div (local.get $ms) (local.get $omab1))
              (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $omab2))) (local.get $eps)))
            (local.get $negLr))
          (f32.load (i32.add (local.get $value) (local.get $o)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $tl)))
  )
)
