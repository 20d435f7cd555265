;; body_score: score the text parts of a message by spammy phrases and add the
;; total as the score header (X-Rule-Score unless configured otherwise), at DATA.
;; Same rule as body_score.c: free 1, winner 3, "click here" 2, viagra 5, $$$ 4,
;; counted without regard to ASCII case, occurrences not overlapping.
(module
  (import "stalwart" "part_count" (func $part_count (result i32)))
  (import "stalwart" "part_text" (func $part_text (param i32) (result i64)))
  (import "stalwart" "action" (func $action (param i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  (data (i32.const 16) "free")         ;; 4
  (data (i32.const 24) "winner")       ;; 6
  (data (i32.const 32) "click here")   ;; 10
  (data (i32.const 48) "viagra")       ;; 6
  (data (i32.const 56) "$$$")          ;; 3

  (global $heap (mut i32) (i32.const 1024))
  (func (export "abi_version") (result i32) (i32.const 1))
  (func (export "alloc") (param $size i32) (result i32)
    (local $start i32) (local $end i32) (local $have i32)
    (local.set $start (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $start) (local.get $size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.div_u (i32.add (i32.sub (local.get $end) (local.get $have))
                                               (i32.const 65535))
                                      (i32.const 65536)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $start))

  (func $lower (param $c i32) (result i32)
    (if (result i32) (i32.and (i32.ge_u (local.get $c) (i32.const 65))
                              (i32.le_u (local.get $c) (i32.const 90)))
      (then (i32.add (local.get $c) (i32.const 32)))
      (else (local.get $c))))

  ;; non-overlapping occurrences of the (lower-case) phrase in the text, ignoring case
  (func $count (param $tp i32) (param $tl i32) (param $pp i32) (param $pl i32) (result i32)
    (local $i i32) (local $j i32) (local $n i32)
    (block $done
      (loop $outer
        (br_if $done (i32.gt_s (i32.add (local.get $i) (local.get $pl)) (local.get $tl)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (br_if $mismatch (i32.ge_s (local.get $j) (local.get $pl)))
            (br_if $mismatch
              (i32.ne (call $lower (i32.load8_u (i32.add (local.get $tp)
                                                         (i32.add (local.get $i) (local.get $j)))))
                      (i32.load8_u (i32.add (local.get $pp) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (if (i32.eq (local.get $j) (local.get $pl))
          (then
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (local.get $pl))))
          (else (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $outer)))
    (local.get $n))

  (func (export "on_data") (result i32)
    (local $parts i32) (local $k i32) (local $v i64) (local $tp i32) (local $tl i32)
    (local $total i32)
    (local.set $parts (call $part_count))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $k) (local.get $parts)))
        (local.set $v (call $part_text (local.get $k)))
        (if (i64.ge_s (local.get $v) (i64.const 0))
          (then
            (local.set $tp (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
            (local.set $tl (i32.wrap_i64 (local.get $v)))
            (local.set $total (i32.add (local.get $total)
              (i32.add
                (i32.add
                  (call $count (local.get $tp) (local.get $tl) (i32.const 16) (i32.const 4))
                  (i32.mul (i32.const 3)
                    (call $count (local.get $tp) (local.get $tl) (i32.const 24) (i32.const 6))))
                (i32.add
                  (i32.add
                    (i32.mul (i32.const 2)
                      (call $count (local.get $tp) (local.get $tl) (i32.const 32) (i32.const 10)))
                    (i32.mul (i32.const 5)
                      (call $count (local.get $tp) (local.get $tl) (i32.const 48) (i32.const 6))))
                  (i32.mul (i32.const 4)
                    (call $count (local.get $tp) (local.get $tl) (i32.const 56) (i32.const 3)))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $each)))
    ;; action 12 = score
    (drop (call $action (i32.const 12) (local.get $total)
                        (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
    (i32.const 0))
)
