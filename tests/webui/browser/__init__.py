"""Support for browser tests: a seeded SQLite database and gunicorn serving `wsgi:app` on a free local port."""
