"""The outbound queue: manager, SMTP client, MX resolution, DSNs and the ``queue`` command."""
