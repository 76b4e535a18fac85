"""s2label.pipeline."""
