"""access_log."""
