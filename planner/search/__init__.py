"""Search: candidate layouts and the CP-SAT choice among them."""
