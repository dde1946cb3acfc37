"""Use cases of the stats service: projecting batches, answering queries, rebuild, check."""
