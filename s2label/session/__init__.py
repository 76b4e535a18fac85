"""s2label.session."""
