"""The staff login the benchmark harness signs in with (``peer seed`` creates it)."""

LOGIN_PATH = "/login/"
USERNAME = "bench-agent"
# devdesk seed-load's password for everyone, so both desks sign in alike.
PASSWORD = "devdesk-load"
EMAIL = "bench-agent@example.com"
