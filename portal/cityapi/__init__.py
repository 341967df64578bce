"""The city's Open311 GeoReport v2 client; this module alone knows about Flask config."""
