"""NATS entrypoints of the campaign service."""
