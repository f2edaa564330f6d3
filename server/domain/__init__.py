"""The domain core: business rules as plain functions of (session, actor, now, ...).

No Flask here. Services flush; the caller (view, socket handler, CLI) commits.
"""
