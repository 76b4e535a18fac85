"""s2label.segmentation."""
