"""Block meetings and bulk filing by neighborhood liaisons."""
