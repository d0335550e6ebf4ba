"""The portfolio: every partnership a user may see, with its health and figures at a glance."""
