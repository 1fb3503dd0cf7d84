"""Scoring's rules, free of the database and HTTP: periods, the metric catalogue, the figures of a
division, the exposure rules, the assessment method (scheme) and its formulas, the ranking."""
