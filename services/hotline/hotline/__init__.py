"""Minh Bạch hotline service: feedback tickets, working-day deadlines, redacted public answers."""
