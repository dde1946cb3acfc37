"""NATS entry points of the moderation service."""
