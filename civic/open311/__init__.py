"""The Open311 GeoReport v2 API: routes, JSON and XML encoders, mapping of items to service requests."""
