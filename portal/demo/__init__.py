"""Demo data for `make run`: generated neighborhoods and one account per role."""
