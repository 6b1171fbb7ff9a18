"""The development credentials, documented and not secret, so that the demo, the sandbox and the
tests work out of the box: the one place they are written. The settings' defaults and the command
line take them from here; set real ones with TIPLINE_ESP_KEYS, TIPLINE_ISPWS_USERS,
TIPLINE_ANALYST_KEYS, TIPLINE_ADMIN_KEYS, TIPLINE_AGENCY_KEYS and TIPLINE_LINK_KEY."""

ESP = "example-esp"
ESP_KEY = "dev-key-not-secret"  # the JSON API's Bearer key
ISPWS_PASSWORD = "dev-password-not-secret"  # the XML reporting API's Basic password
ANALYST, ANALYST_KEY = "workshop", "dev-analyst-key-not-secret"
ADMIN, ADMIN_KEY = "admin", "dev-admin-key-not-secret"
# The agency a workshop plays by hand (marked "played_by": "people" in the directory).
PLAYED_AGENCY, AGENCY_KEY = "icac-wa", "dev-agency-key-not-secret"

ESP_KEYS = f"{ESP}:{ESP_KEY}"
ISPWS_USERS = f"{ESP}:{ISPWS_PASSWORD}"
ANALYST_KEYS = f"{ANALYST}:{ANALYST_KEY}"
ADMIN_KEYS = f"{ADMIN}:{ADMIN_KEY}"
AGENCY_KEYS = f"{PLAYED_AGENCY}:{AGENCY_KEY}"
# The key of the keyed hashes linking stores instead of identifiers (HMAC-SHA256).
LINK_KEY = "dev-link-key-not-secret"
