"""Test doubles that are real servers: the fake group robots."""
