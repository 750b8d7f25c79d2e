"""Citizens following a procedure or a field by e-mail (double opt-in, one-click unsubscribe)."""
