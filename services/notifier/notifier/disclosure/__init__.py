"""Disclosure: events in, the read model, a delivery per channel, channel runs, the ledger, backstops."""
