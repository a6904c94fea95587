"""auditor: an offline compliance auditor for Exchange partner applications and web.config files."""

__version__ = "0.1.0"
