"""`escalate report`: figures from the audit log and the live tracking fields."""
