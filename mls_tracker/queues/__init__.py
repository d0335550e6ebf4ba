"""Work queues across a user's partnerships: what waits for a lead or a provider."""
