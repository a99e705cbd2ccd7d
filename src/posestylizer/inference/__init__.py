"""Inference: generating people with a trained generator (dataset pairs in batch, animation, export)."""
