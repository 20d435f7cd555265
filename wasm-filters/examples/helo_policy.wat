;; helo_policy: the ehlo and mail stages. At EHLO, refuse a name that is neither
;; a domain with a dot nor an address literal ("[...]"): 550 5.7.1 (RFC 5321
;; §4.1.1.1 asks for a fully qualified domain name or an address literal). At
;; MAIL, mark a message with the null reverse-path (a notification, RFC 5321
;; §4.5.5) with the field "X-Null-Sender: yes". The same rule as helo_policy.c.
(module
  (import "stalwart" "envelope" (func $envelope (param i32 i32) (result i64)))
  (import "stalwart" "action" (func $action (param i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  (data (i32.const 16) "HELO must be a domain name")  ;; 26 bytes
  (data (i32.const 48) "5.7.1")                       ;; 5 bytes
  (data (i32.const 64) "X-Null-Sender")               ;; 13 bytes
  (data (i32.const 80) "yes")                         ;; 3 bytes

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

  (func (export "on_ehlo") (result i32)
    (local $v i64) (local $ptr i32) (local $len i32) (local $i i32)
    ;; the name being given (field 3, HELO); absent or empty: nothing to judge
    (local.set $v (call $envelope (i32.const 3) (i32.const 0)))
    (if (i64.le_s (local.get $v) (i64.const 0)) (then (return (i32.const 0))))
    (local.set $ptr (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
    (local.set $len (i32.wrap_i64 (local.get $v)))
    ;; an address literal ('[')
    (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 91)) (then (return (i32.const 0))))
    ;; a '.' anywhere: a domain
    (block $done
      (loop $scan
        (br_if $done (i32.ge_s (local.get $i) (local.get $len)))
        (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 46))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    ;; action 4 = reject, 550 5.7.1
    (drop (call $action (i32.const 4) (i32.const 550)
                        (i32.const 16) (i32.const 26) (i32.const 48) (i32.const 5)))
    (i32.const 0))

  (func (export "on_mail") (result i32)
    ;; the null reverse-path is the empty string (0), not absent (-1)
    (if (i64.eqz (call $envelope (i32.const 0) (i32.const 0)))
      (then
        ;; action 7 = addheader
        (drop (call $action (i32.const 7) (i32.const 0)
                            (i32.const 64) (i32.const 13) (i32.const 80) (i32.const 3)))))
    (i32.const 0))
)
