"""City tickets: the outbox to the city, the sync from it, and their history."""
