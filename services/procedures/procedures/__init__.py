"""Minh Bạch procedures service: administrative procedures, their versions, publication decisions."""
