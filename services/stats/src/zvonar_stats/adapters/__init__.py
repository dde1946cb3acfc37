"""The stats service's adapters: SQL read models and JetStream reading."""
