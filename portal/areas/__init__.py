"""Neighborhoods as polygons: import, lookup by point, pages and API."""
