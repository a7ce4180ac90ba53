"""History at scale: mergeable sketches with a guaranteed error, for rollups of the figures."""
