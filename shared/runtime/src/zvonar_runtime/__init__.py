"""Zvonar's small runtime kit, shared by every service: settings from the environment,
structlog set-up, correlation ids in NATS headers, JetStream set-up, health, graceful
shutdown, a nats-server launcher and the `make run` runner."""
