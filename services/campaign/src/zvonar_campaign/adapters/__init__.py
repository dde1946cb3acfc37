"""Infrastructure of the campaign service: the event store, its own tables, NATS, the relay."""
