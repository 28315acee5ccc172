"""acs-dns: provision Azure Communication Services email domain records into Azure DNS, verified."""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "acs-dns-provisioner"

try:
    __version__ = version(DISTRIBUTION)  # the one version source is pyproject.toml
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
