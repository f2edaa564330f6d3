"""Enrolling screens in bulk and setting up their operating system."""
