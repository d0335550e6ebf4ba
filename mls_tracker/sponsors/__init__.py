"""Executive sponsors by region: the coverage matrix and sponsorship history."""
