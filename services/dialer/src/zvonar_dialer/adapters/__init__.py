"""The dialer's adapters: its SQL store, NATS clients, object store, telephony, TTS, audio."""
