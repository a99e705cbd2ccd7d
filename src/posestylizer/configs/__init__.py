"""YAML presets (only the differences from the dataclass defaults in posestylizer.config)."""
