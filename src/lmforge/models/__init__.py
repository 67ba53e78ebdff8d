"""Building and loading transformers models; the registry of offline defaults."""
