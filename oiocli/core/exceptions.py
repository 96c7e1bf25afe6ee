"""One exception hierarchy for the API, the backends and the CLI.

Every exception carries the process exit code the CLI uses for it, so that a
script can branch on the kind of failure (see README, "Exit codes").
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONTAINER_NOT_FOUND = 3
EXIT_OBJECT_NOT_FOUND = 4
EXIT_RETRY = 5
EXIT_CORRUPT = 6
EXIT_DEGRADED = 7
EXIT_PARTIAL = 8


class OioException(Exception):
    """Base of every error raised by oiocli."""

    exit_code = EXIT_ERROR
    http_status = 500

    def __init__(self, message: str = "", *, reqid: str | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.message = message or (self.__class__.__doc__ or "").strip()
        self.reqid = reqid

    def __str__(self) -> str:
        return self.message


class ClientException(OioException):
    """The request is wrong."""

    http_status = 400


class BadRequest(ClientException):
    """Bad request."""


class InvalidName(BadRequest):
    """Invalid name."""


class BadRange(BadRequest):
    """Invalid range."""

    http_status = 416


class InvalidStorageMethod(BadRequest):
    """Invalid storage method."""


class UnknownPolicy(BadRequest):
    """Unknown storage policy."""


class MissingData(BadRequest):
    """Missing data."""


class MissingName(BadRequest):
    """Missing name."""


class FileNotFound(ClientException):
    """File not found."""

    http_status = 404


class NotFound(ClientException):
    """Resource not found."""

    http_status = 404


class NoSuchAccount(NotFound):
    """Account not found."""

    exit_code = EXIT_CONTAINER_NOT_FOUND


class NoSuchContainer(NotFound):
    """Container not found."""

    exit_code = EXIT_CONTAINER_NOT_FOUND


class NoSuchObject(NotFound):
    """Object not found."""

    exit_code = EXIT_OBJECT_NOT_FOUND


class ChunkNotFound(NotFound):
    """Chunk not found."""


class Conflict(ClientException):
    """Conflict."""

    http_status = 409


class ContainerNotEmpty(Conflict):
    """Container not empty."""


class AccountNotEmpty(Conflict):
    """Account not empty."""


class EtagMismatch(ClientException):
    """The data does not match the expected ETag."""

    http_status = 422


class ContentDrained(ClientException):
    """The object's data was drained."""

    http_status = 410
    exit_code = EXIT_CORRUPT


class Forbidden(ClientException):
    """Forbidden."""

    http_status = 403


class ServerException(OioException):
    """The storage failed to serve the request."""


class ServiceBusy(ServerException):
    """Service busy, try again later."""

    http_status = 503
    exit_code = EXIT_RETRY


class ContainerFrozen(ServiceBusy):
    """Container frozen (read-only)."""


class OioTimeout(ServiceBusy):
    """Timeout."""


class NotEnoughVolumes(ServerException):
    """Not enough volumes for the storage policy."""

    http_status = 503


class UnrecoverableContent(ServerException):
    """The object's data cannot be read back."""

    exit_code = EXIT_CORRUPT


class ChunkCorrupt(UnrecoverableContent):
    """Chunk corrupt."""


class ChunkMisplaced(ChunkCorrupt):
    """A chunk whose own metadata says it is not the chunk recorded (another object's,
    another position): as bad as a corrupt one, its bytes are never served."""


class StorageFull(ServerException):
    """No space left on a volume."""

    http_status = 507


class CorruptDatabase(ServerException):
    """A metadata database is corrupt."""

    exit_code = EXIT_CORRUPT


class DegradedContent(OioException):
    """Readable, but redundancy is reduced (raised only by checks)."""

    exit_code = EXIT_DEGRADED


class PartialSuccess(OioException):
    """Some items of a multi-item command failed."""

    exit_code = EXIT_PARTIAL
