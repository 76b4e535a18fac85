"""s2label.encoders."""
