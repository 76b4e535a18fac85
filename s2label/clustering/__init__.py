"""s2label.clustering."""
