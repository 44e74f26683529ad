"""The core after fetch and parse (ingest and tick in one transaction each), and replay, which drives it on a
simulated clock."""
