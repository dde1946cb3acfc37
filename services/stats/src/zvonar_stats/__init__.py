"""Zvonar stats service: the read side.

It projects CAMPAIGN_EVENTS (durable `stats-campaign-events`) and CALL_EVENTS (durable
`stats-call-events`) into its own tables — the campaign list with smart parts as rows, the
six-part size of every row, the cost ledger, report rows, history, stop-lists — and
answers `stats.query.<Type>` (queue `stats`).

- domain/: the rules (statuses, start column, a number's result within a row, costs) and
  the in-memory recomputation the consistency check compares with.
- adapters/: the tables (in generations, so a rebuild is built aside and swapped in), the
  two projections, the read queries, JetStream reading.
- service_layer/: projecting batches and waiting for positions, answering queries,
  rebuild, check.
- entrypoints/: the consumers and the query responder; `__main__` is the command line
  (`serve` by default, `rebuild`, `check`; the analysts' export is
  `zvonar events export`, tools/cli).

Choices worth knowing: a smart part's calls count and cost on the part's own row; the main
campaign's report lists the calls of every part (a part's report, its own); `q` made of
digits matches the campaign with that id or any name containing those digits.
"""
