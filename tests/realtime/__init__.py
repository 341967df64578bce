"""Several web processes over one Redis: live updates, limits and socket closing."""
