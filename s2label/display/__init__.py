"""s2label.display."""
