"""Reviews: a partnership's periodic reviews, their issued PDF scorecards and their delivery."""
