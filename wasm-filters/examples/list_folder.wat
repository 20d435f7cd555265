;; list_folder: file mailing-list mail by its List-Id (RFC 2919) at delivery.
;; The list identifier (between < and >) is looked up in the "list_folders"
;; table; a listed one goes to the table's folder, any other list to
;; "Newsletters". The folder is created when missing. Same rule as list_folder.c.
(module
  (import "stalwart" "header" (func $header (param i32 i32 i32) (result i64)))
  (import "stalwart" "lookup" (func $lookup (param i32 i32 i32 i32) (result i64)))
  (import "stalwart" "action" (func $action (param i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  (data (i32.const 16) "List-Id")        ;; 7 bytes
  (data (i32.const 32) "list_folders")   ;; 12 bytes
  (data (i32.const 48) "Newsletters")    ;; 11 bytes

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

  ;; index of the last byte $ch in [ptr, ptr+len), or -1
  (func $last_index (param $ptr i32) (param $len i32) (param $ch i32) (result i32)
    (local $i i32) (local $found i32)
    (local.set $found (i32.const -1))
    (block $done
      (loop $scan
        (br_if $done (i32.ge_s (local.get $i) (local.get $len)))
        (if (i32.eq (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (local.get $ch))
          (then (local.set $found (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (local.get $found))

  (func (export "on_delivery") (result i32)
    (local $v i64) (local $ptr i32) (local $len i32) (local $open i32) (local $close i32)
    (local $fp i32) (local $fl i32)
    (local.set $v (call $header (i32.const 16) (i32.const 7) (i32.const 0)))
    (if (i64.lt_s (local.get $v) (i64.const 0)) (then (return (i32.const 0))))
    (local.set $ptr (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
    (local.set $len (i32.wrap_i64 (local.get $v)))
    (local.set $open (call $last_index (local.get $ptr) (local.get $len) (i32.const 60)))
    (local.set $close (call $last_index (local.get $ptr) (local.get $len) (i32.const 62)))
    (if (i32.and (i32.ge_s (local.get $open) (i32.const 0))
                 (i32.gt_s (local.get $close) (local.get $open)))
      (then
        (local.set $len (i32.sub (local.get $close) (i32.add (local.get $open) (i32.const 1))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.add (local.get $open) (i32.const 1))))))
    (local.set $v (call $lookup (i32.const 32) (i32.const 12) (local.get $ptr) (local.get $len)))
    (local.set $fp (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))
    (local.set $fl (i32.wrap_i64 (local.get $v)))
    (if (i32.or (i64.lt_s (local.get $v) (i64.const 0)) (i32.eqz (local.get $fl)))
      (then (local.set $fp (i32.const 48)) (local.set $fl (i32.const 11))))
    ;; action 2 = fileinto, num 1 = :create, no :flags
    (drop (call $action (i32.const 2) (i32.const 1)
                        (local.get $fp) (local.get $fl) (i32.const 0) (i32.const 0)))
    (i32.const 0))
)
