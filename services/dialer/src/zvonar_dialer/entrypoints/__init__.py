"""The dialer's NATS subscribers: the campaign stream and the `dialer.req.*` requests."""
