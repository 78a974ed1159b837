"""How the service batches, queues and bounds requests: one validated dataclass the CLI fills in."""

from __future__ import annotations

from dataclasses import dataclass

from epee.errors import EpeeError

ENGINES = ("torch", "onnx")
SCHEDULES = ("batch", "layer")


@dataclass(frozen=True)
class ServeSettings:
    """Batching, queueing and request limits of ``epee serve``.

    The queue is counted in rows (texts), not requests, because rows are what cost compute; a request
    whose rows would overflow it is refused with 503 rather than queued without bound.
    """

    max_batch_size: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 1024
    max_body_bytes: int = 1_048_576
    max_texts_per_request: int = 256
    max_chars_per_text: int = 10_000
    engine: str = "torch"
    schedule: str = "batch"
    api_token: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_queue", "max_body_bytes", "max_texts_per_request", "max_chars_per_text"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EpeeError(f"{_option(name)} must be a whole number >= 1, got {value!r}.")
        if not self.max_wait_ms >= 0:
            raise EpeeError(f"--max-wait-ms must be >= 0, got {self.max_wait_ms!r}.")
        if self.max_texts_per_request > self.max_queue:
            raise EpeeError(
                f"--max-texts-per-request ({self.max_texts_per_request}) exceeds --max-queue ({self.max_queue}): "
                "such a request could never be queued; lower the first or raise the second."
            )
        if self.engine not in ENGINES:
            raise EpeeError(f"--engine must be one of {ENGINES}, got {self.engine!r}.")
        if self.schedule not in SCHEDULES:
            raise EpeeError(f"--schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        if self.api_token is not None and not self.api_token.strip():
            raise EpeeError("EPEE_API_TOKEN is set but empty; unset it to serve without auth, or give it a value.")

    @property
    def max_wait_seconds(self) -> float:
        return self.max_wait_ms / 1000

    def limits(self) -> dict[str, int]:
        """The request limits by the names the error responses use."""
        return {
            "max_body_bytes": self.max_body_bytes,
            "max_texts_per_request": self.max_texts_per_request,
            "max_chars_per_text": self.max_chars_per_text,
        }


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")
