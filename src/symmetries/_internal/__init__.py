"""Plumbing shared across the library's packages: the cache folder, atomic writes, nested
containers of tensors, and compiled CPU loops. Nothing here is public API."""
