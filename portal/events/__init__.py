"""Neighborhood events: cleanups, meetings, socials; RSVPs, calendars, reminders."""
