"""The in-app inbox: each user's notifications, read and marked read."""
