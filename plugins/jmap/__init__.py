"""The ``jmap`` plugin: JMAP (RFC 8620 core, RFC 8621 mail, RFC 8887 WebSocket).

Layout:

* ``methods.py``: the method contract (:class:`~plugins.jmap.methods.Call`,
  :class:`~plugins.jmap.methods.MethodError`, ``@register``) and the registry
  built per kernel from the method modules.
* ``standard.py``: the shared parts of the standard methods (/get, /changes,
  /query, /queryChanges, /set) of RFC 8620 §5.
* ``ids.py``, ``state.py``: JMAP ids and state strings over store integers and modseqs.
* ``blobs.py``: uploads (RFC 8620 §6.1) and blob resolution.
* ``api.py``: a JMAP Request to its Response (§3.3-§3.7), sans-IO except the store.
* ``http.py``: the quart routes (session, API, upload, download, EventSource, WebSocket).
* ``core/`` and ``mail/``: one module per data type's methods.
"""
