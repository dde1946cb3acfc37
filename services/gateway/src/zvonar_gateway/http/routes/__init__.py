"""Route handlers of the gateway's HTTP API, one module per area of docs/API.md."""
