"""Zvonar's developer tooling: the `make run` runner (`zvonar-run`), the nats-server
launcher the runner, the tests and the benches use, and the AsyncAPI generator. No service
imports it; no service image installs it."""
