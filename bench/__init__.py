"""Zvonar's benchmarks: `make bench` (`python -m bench`) and `make bench-quick`.

Every row measures its own baseline in the same run on the same machine and reports the
ratio; results land as JSON under bench/results/ (not committed)."""
