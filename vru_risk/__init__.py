"""vru_risk."""
