"""First run: the one-time set-up link that creates the first administrator, then the walk to the
first partnership."""
