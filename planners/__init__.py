"""Planners: clients of the memory that localize goals, plan paths and explore."""
