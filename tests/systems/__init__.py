"""Systems under test other than the reference ``helpdesk/``: test content, not engine.

Each sub-package is a small real application, built unlike the reference system,
with a launcher that starts it (and its database) and stops it again, so that
harness features can be proven on systems shaped like real apps (docs/systems.md).
"""
