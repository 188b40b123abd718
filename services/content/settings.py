"""Content service settings (`CONTENT_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.content.filetypes import Kind
from services.runtime.settings import ServiceSettings

MiB = 1024 * 1024
GiB = 1024 * MiB


class ContentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTENT_", extra="ignore", frozen=True)

    service_name: str = "content"
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    """`filesystem`: files under `storage_path` (the embedded default); `s3`: a bucket of Amazon
    S3 or an S3-compatible server."""
    storage_path: Path = Path("var/content-files")
    s3_bucket: str | None = None
    s3_endpoint: str | None = None
    """An S3-compatible server's address (e.g. `https://minio.example.com`); unset for AWS."""
    s3_region: str = "eu-central-1"
    s3_access_key_id: str | None = None
    """Unset: the credentials come from the environment (AWS_*, an IAM role for the pod)."""
    s3_secret_access_key: SecretStr | None = None
    s3_allow_http: bool = False
    """Allow a plain-HTTP endpoint (a test server on this machine only)."""
    release_file_max_bytes: int = Field(default=2 * GiB, ge=1)
    recording_max_bytes: int = Field(default=8 * GiB, ge=1)
    upload_part_bytes: int = Field(default=8 * MiB, ge=5 * MiB)
    """The part size of a streamed upload (S3's smallest part is 5 MiB); with two parts in
    flight it bounds the memory one upload takes."""
    upload_stale_after_s: float = Field(default=6 * 3600, gt=0)
    """An upload still `receiving` after this long belongs to a process that died: its bytes
    are deleted from storage and its row removed."""
    upload_sweep_interval_s: float = Field(default=300, gt=0)
    attachment_max_bytes: int = Field(default=25 * MiB, ge=1)
    """The largest file attached to a ticket's message."""
    attachment_unbound_after_s: float = Field(default=24 * 3600, gt=0)
    """An attachment no message has named this long after its upload is deleted (bytes and
    all) and can no longer be named."""
    attachment_sweep_interval_s: float = Field(default=300, gt=0)
    ticket_wait_s: float = Field(default=5, ge=0, le=30)
    """How long an upload to a ticket this service has not heard of yet waits for its
    `TicketCreated` before it answers 404 (a ticket submitted a moment ago)."""

    def max_bytes(self, kind: Kind) -> int:
        """The size limit of one file of this kind."""
        return {
            "release": self.release_file_max_bytes,
            "recording": self.recording_max_bytes,
            "attachment": self.attachment_max_bytes,
        }[kind]

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Self:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("CONTENT_S3_BUCKET is required with CONTENT_STORAGE_BACKEND=s3")
        return self
