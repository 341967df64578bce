"""The sandbox city: a GeoReport v2 server (own app, tables)."""
