;; block_executables: refuse a message at DATA when a MIME part's file name
;; (Content-Disposition filename or Content-Type name) ends in an executable
;; extension. Same rule as block_executables.c.
(module
  (import "stalwart" "part_count" (func $part_count (result i32)))
  (import "stalwart" "part" (func $part (param i32 i32) (result i64)))
  (import "stalwart" "action" (func $action (param i32 i32 i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)
  ;; the extensions, 4 bytes apart except where longer
  (data (i32.const 16) ".exe.scr.com.bat.cmd.pif.vbs")   ;; 7 x 4 bytes at 16..43
  (data (i32.const 48) ".js")                            ;; 3
  (data (i32.const 52) ".jar.msi.ps1")                   ;; 3 x 4 bytes at 52..63
  (data (i32.const 64) "executable attachments are not accepted")  ;; 39
  (data (i32.const 112) "5.7.1")                         ;; 5

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

  ;; whether [np, np+nl) ends with the lower-case [ep, ep+el), ignoring ASCII case
  (func $ends (param $np i32) (param $nl i32) (param $ep i32) (param $el i32) (result i32)
    (local $i i32) (local $base i32)
    (if (i32.lt_s (local.get $nl) (local.get $el)) (then (return (i32.const 0))))
    (local.set $base (i32.add (local.get $np) (i32.sub (local.get $nl) (local.get $el))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $i) (local.get $el)))
        (if (i32.ne (call $lower (i32.load8_u (i32.add (local.get $base) (local.get $i))))
                    (i32.load8_u (i32.add (local.get $ep) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.const 1))

  (func $executable (param $np i32) (param $nl i32) (result i32)
    (local $e i32)
    ;; the seven 4-byte extensions at 16, then .js, then three more at 52
    (block $no
      (loop $four
        (br_if $no (i32.ge_u (local.get $e) (i32.const 7)))
        (if (call $ends (local.get $np) (local.get $nl)
                         (i32.add (i32.const 16) (i32.shl (local.get $e) (i32.const 2)))
                         (i32.const 4))
          (then (return (i32.const 1))))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $four)))
    (if (call $ends (local.get $np) (local.get $nl) (i32.const 48) (i32.const 3))
      (then (return (i32.const 1))))
    (local.set $e (i32.const 0))
    (block $no
      (loop $four
        (br_if $no (i32.ge_u (local.get $e) (i32.const 3)))
        (if (call $ends (local.get $np) (local.get $nl)
                         (i32.add (i32.const 52) (i32.shl (local.get $e) (i32.const 2)))
                         (i32.const 4))
          (then (return (i32.const 1))))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $four)))
    (i32.const 0))

  (func (export "on_data") (result i32)
    (local $parts i32) (local $k i32) (local $v i64)
    (local.set $parts (call $part_count))
    (block $done
      (loop $each
        (br_if $done (i32.ge_s (local.get $k) (local.get $parts)))
        ;; field 1 = file name
        (local.set $v (call $part (local.get $k) (i32.const 1)))
        (if (i64.ge_s (local.get $v) (i64.const 0))
          (then
            (if (call $executable (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32)))
                                   (i32.wrap_i64 (local.get $v)))
              (then
                ;; action 4 = reject, 550 5.7.1
                (drop (call $action (i32.const 4) (i32.const 550) (i32.const 64) (i32.const 39)
                                    (i32.const 112) (i32.const 5)))
                (return (i32.const 0))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $each)))
    (i32.const 0))
)
