"""Sunwall server: admin UI, JSON API, device protocol, public phone pages."""
