"""Accounts, roles scoped to areas, login sessions and personal API tokens."""
