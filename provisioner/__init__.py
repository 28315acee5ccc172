"""acs-dns: provision Azure Communication Services email domain records into Azure DNS, verified."""

__version__ = "0.1.0"
