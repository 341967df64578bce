"""Neighborhood forums: threads and posts per area, a thread per ticket, moderation."""
