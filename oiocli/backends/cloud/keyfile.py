"""Credentials and endpoints of the cloud tier, from an INI key file.

OpenIO's format, section `[backblaze]`, one option per account and bucket:

    [backblaze]
    <account_id>.<bucket_name>.application_key = <application key>
    # our extensions (optional):
    <account_id>.<bucket_name>.endpoint = https://s3.us-west-004.backblazeb2.com
    <account_id>.<bucket_name>.region = us-west-004

The account id is the B2 key id (for the master key, the account id itself),
which is also the S3 access key id of B2's S3-compatible API. Without an
endpoint, the region names it: `https://s3.<region>.backblazeb2.com`.

Any other S3 service (`s3/endpoint=...,bucket_name=...` methods), section `[s3]`:

    [s3]
    <bucket_name>.access_key_id = <access key id>
    <bucket_name>.secret_access_key = <secret>
    <bucket_name>.region = us-east-1      # optional (the method's region= wins)

The file is found at the path given (`--key-file`), else `$OIO_KEY_FILE`, else the
namespace configuration's `key_file`, else OpenIO's `/etc/oio/sds/b2-appkey.conf`.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass

from oiocli.core.exceptions import ClientException
from oiocli.core.storage_method import StorageMethod

DEFAULT_KEY_FILE = "/etc/oio/sds/b2-appkey.conf"
KEY_FILE_ENV = "OIO_KEY_FILE"
DEFAULT_REGION = "us-east-1"


class TierConfigError(ClientException):
    """The key file, a key or an endpoint of a cloud tier is missing or wrong (exit 1)."""


@dataclass(frozen=True)
class TierTarget:
    """Where a tier method's chunks go, and the credentials to sign requests with."""

    endpoint: str  # scheme://host[:port], no path
    region: str
    bucket: str
    access_key: str
    secret_key: str


def key_file_path(given: str | None = None, configured: str | None = None) -> str:
    """The key file to read: the one given, $OIO_KEY_FILE, the namespace's, or OpenIO's."""
    return given or os.environ.get(KEY_FILE_ENV) or configured or DEFAULT_KEY_FILE


def _read(path: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # ids are case-sensitive
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise TierConfigError(
            f"Cloud tier key file {path} not found (give --key-file or set ${KEY_FILE_ENV})"
        ) from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise TierConfigError(f"Cannot read cloud tier key file {path}: {exc}") from None
    return parser


def _option(parser: configparser.RawConfigParser, section: str, name: str) -> str | None:
    if not parser.has_section(section) or not parser.has_option(section, name):
        return None
    value = parser.get(section, name).strip()
    return value or None


def _clean_endpoint(endpoint: str, where: str) -> str:
    endpoint = endpoint.rstrip("/")
    scheme, sep, rest = endpoint.partition("://")
    if not sep or scheme not in ("http", "https") or not rest or "/" in rest:
        raise TierConfigError(f"Invalid endpoint {endpoint!r} in {where}: scheme://host[:port]")
    return endpoint


def _b2_region(endpoint: str) -> str | None:
    host = endpoint.partition("://")[2].split(":")[0]
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "s3" and host.endswith(".backblazeb2.com"):
        return parts[1]
    return None


def load_target(method: StorageMethod, path: str) -> TierTarget:
    """Resolve a tier method against the key file at `path`; TierConfigError if anything lacks."""
    parser = _read(path)
    bucket = method.bucket_name
    if method.kind == "backblaze":
        account = method.params["account_id"]
        prefix = f"{account}.{bucket}"
        secret = _option(parser, "backblaze", f"{prefix}.application_key")
        if secret is None:
            raise TierConfigError(
                f"No application key for account {account!r} and bucket {bucket!r} in {path} "
                f"(section [backblaze], option {prefix}.application_key)"
            )
        endpoint = _option(parser, "backblaze", f"{prefix}.endpoint")
        region = _option(parser, "backblaze", f"{prefix}.region")
        if endpoint is None:
            if region is None:
                raise TierConfigError(
                    f"No endpoint for bucket {bucket!r} in {path}: set {prefix}.region "
                    f"(https://s3.<region>.backblazeb2.com) or {prefix}.endpoint"
                )
            endpoint = f"https://s3.{region}.backblazeb2.com"
        endpoint = _clean_endpoint(endpoint, path)
        region = region or _b2_region(endpoint) or DEFAULT_REGION
        return TierTarget(endpoint, region, bucket, account, secret)
    access = _option(parser, "s3", f"{bucket}.access_key_id")
    secret = _option(parser, "s3", f"{bucket}.secret_access_key")
    if access is None or secret is None:
        raise TierConfigError(
            f"No credentials for bucket {bucket!r} in {path} (section [s3], options "
            f"{bucket}.access_key_id and {bucket}.secret_access_key)"
        )
    endpoint = _clean_endpoint(method.params["endpoint"], f"chunk method {method}")
    region = method.params.get("region") or _option(parser, "s3", f"{bucket}.region")
    return TierTarget(endpoint, region or DEFAULT_REGION, bucket, access, secret)
