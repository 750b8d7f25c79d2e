"""Minh Bạch notifier: the disclosure ledger and the channel renderers."""
