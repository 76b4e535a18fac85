"""s2label.evaluation."""
