"""Users, projects, permits, opt-out, the audit trail, output review and release."""
