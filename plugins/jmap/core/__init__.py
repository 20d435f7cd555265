"""RFC 8620 core methods (Core/echo, Blob/copy, PushSubscription)."""
