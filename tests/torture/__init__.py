"""repart's exactly-once torture explorer (scripts/torture)."""
