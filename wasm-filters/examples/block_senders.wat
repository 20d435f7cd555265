;; block_senders: refuse mail whose sender's domain (or a parent domain) is in
;; the "blocked_domains" table, at the RCPT stage (550 5.7.1). The table value,
;; when not empty, is the reply text. The same rule as block_senders.c.
(module
  (import "stalwart" "envelope" (func $envelope (param i32 i32) (result i64)))
  (import "stalwart" "lookup" (func $lookup (param i32 i32 i32 i32) (result i64)))
  (import "stalwart" "action" (func $action (param i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  (data (i32.const 16) "blocked_domains")            ;; 15 bytes
  (data (i32.const 32) "sender domain is blocked")   ;; 24 bytes
  (data (i32.const 64) "5.7.1")                      ;; 5 bytes

  ;; ---- the ABI's exports: version and a bump allocator ----
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

  (func (export "on_rcpt") (result i32)
    (local $v i64) (local $ptr i32) (local $len i32) (local $i i32) (local $at i32)
    (local $rp i32) (local $rl i32)
    ;; the reverse-path; absent: nothing to do
    (local.set $v (call $envelope (i32.const 0) (i32.const 0)))
    (if (i64.lt_s (local.get $v) (i64.const 0)) (then (return (i32.const 0))))
    (local.set $ptr (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
    (local.set $len (i32.wrap_i64 (local.get $v)))
    ;; the last '@'
    (local.set $at (i32.const -1))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_s (local.get $i) (local.get $len)))
        (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 64))
          (then (local.set $at (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $ptr (i32.add (local.get $ptr) (i32.add (local.get $at) (i32.const 1))))
    (local.set $len (i32.sub (local.get $len) (i32.add (local.get $at) (i32.const 1))))
    ;; the domain, then each parent domain
    (block $out
      (loop $try
        (br_if $out (i32.le_s (local.get $len) (i32.const 0)))
        (local.set $v (call $lookup (i32.const 16) (i32.const 15) (local.get $ptr) (local.get $len)))
        (if (i64.ge_s (local.get $v) (i64.const 0))
          (then
            (local.set $rp (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
            (local.set $rl (i32.wrap_i64 (local.get $v)))
            (if (i32.eqz (local.get $rl))
              (then (local.set $rp (i32.const 32)) (local.set $rl (i32.const 24))))
            ;; action 4 = reject, 550 5.7.1
            (drop (call $action (i32.const 4) (i32.const 550)
                                (local.get $rp) (local.get $rl) (i32.const 64) (i32.const 5)))
            (return (i32.const 0))))
        ;; skip past the first '.', or stop
        (local.set $i (i32.const 0))
        (loop $find
          (br_if $out (i32.ge_s (local.get $i) (local.get $len)))
          (if (i32.ne (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 46))
            (then (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $find))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.add (local.get $i) (i32.const 1))))
        (local.set $len (i32.sub (local.get $len) (i32.add (local.get $i) (i32.const 1))))
        (br $try)))
    (i32.const 0))
)
