"""Being written: see customers/urls.py for the views this module provides."""
