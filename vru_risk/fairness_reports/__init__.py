"""fairness_reports."""
