"""How the stats service is driven: JetStream consumers, NATS queries, the command line."""
