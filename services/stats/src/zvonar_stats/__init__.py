"""Zvonar stats service: the read side.

It projects CAMPAIGN_EVENTS (durable `stats-campaign-events`) and CALL_EVENTS (in
STATS_PARTITIONS partitions by campaign, durables `stats-call-events-p<i>of<P>`) into its
own tables — the campaign list with smart parts as rows, the six-part size of every row,
the cost ledger, report rows, history, stop-lists — and answers `stats.query.<Type>`
(queue `stats`). Several instances share the projection's units by lease (NATS KV
`stats-leases`; docs/scaling.md, Stats).

- domain/: the rules (statuses, start column, a number's result within a row, costs) and
  the in-memory recomputation the consistency check compares with.
- adapters/: the tables (in generations, so a rebuild is built aside and swapped in), the
  two projections, the read queries (SqlStore: the store ports), JetStream reading, the
  leases in NATS KV (KvLeases).
- service_layer/: the ports it needs (ports.py: ProjectionStore, ReadModel, Leases),
  projecting batches and waiting for positions, answering queries, sharing units by lease;
  rebuild and check (operator commands, still on the adapters directly).
- entrypoints/: the consumers and the query responder; `bootstrap.py` wires everything
  (the only place that does); `__main__` is the command line
  (`serve` by default, `rebuild`, `check`; the analysts' export is
  `zvonar events export`, tools/cli).

Choices worth knowing: a smart part's calls count and cost on the part's own row; the main
campaign's report lists the calls of every part (a part's report, its own); `q` made of
digits matches the campaign with that id or any name containing those digits.
"""
