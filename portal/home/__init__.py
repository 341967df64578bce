"""The home page: find your neighborhood."""
