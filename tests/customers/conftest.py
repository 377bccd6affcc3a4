"""Customer personas live in tests/conftest.py (the browser tests use them too)."""
