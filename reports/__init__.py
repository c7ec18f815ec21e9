"""Reports: pure functions from run files (polars frames) to altair charts and HTML."""
