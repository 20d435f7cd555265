"""Sandboxed WebAssembly mail rules (``wasm-filters/ABI.md``; guide: ``docs/wasm-rules.md``).

Modules: :mod:`~plugins.wasm.abi` (the ABI's numbers), :mod:`~plugins.wasm.actions`
(action records), :mod:`~plugins.wasm.context` (what a call reads),
:mod:`~plugins.wasm.calls` (the host imports), :mod:`~plugins.wasm.sandbox` (wasmtime
under limits), :mod:`~plugins.wasm.registry` (compile cache, hot reload),
:mod:`~plugins.wasm.verdicts` (actions to pipeline verdicts), :mod:`~plugins.wasm.engine`
(the rule engine for the CLI), :mod:`~plugins.wasm.commands` (``rules test|replay``) and
:mod:`~plugins.wasm.plugin` (the hooks).
"""
