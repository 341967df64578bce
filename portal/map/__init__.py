"""The map: spatial queries over tickets, clusters, the GeoJSON API and the map page."""
