"""Pure transforms: GeoDataFrame in, GeoDataFrame out; vectorised, no I/O, no clock."""
