"""Learner satisfaction: the figures by month, region and program, comments, and totals
reported by hand."""
