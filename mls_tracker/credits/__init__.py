"""Service credits: the partnership page and its CSV."""
