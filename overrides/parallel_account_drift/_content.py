"""Media types of a request body or response, and the schema of each kept one."""

from __future__ import annotations

from typing import Final

from parallel_account_drift._model import Checks, Direction, unclassified
from parallel_account_drift.jsondoc import Json, obj
from parallel_account_drift.rules import BREAKING, NON_BREAKING, rule

AREA: Final = "media-types"

REQUEST_MEDIA_TYPE_ADDED: Final = rule(
    "request-media-type-added", NON_BREAKING, AREA, "a request body accepts a new media type"
)
REQUEST_MEDIA_TYPE_REMOVED: Final = rule(
    "request-media-type-removed", BREAKING, AREA, "a request body no longer accepts a media type"
)
RESPONSE_MEDIA_TYPE_REMOVED: Final = rule(
    "response-media-type-removed", BREAKING, AREA, "a 2xx response no longer offers a media type"
)
ERROR_RESPONSE_MEDIA_TYPE_REMOVED: Final = rule(
    "error-response-media-type-removed", NON_BREAKING, AREA, "a non-2xx response lost a media type"
)
RESPONSE_MEDIA_TYPE_ADDED: Final = rule(
    "response-media-type-added", NON_BREAKING, AREA, "a response offers a new media type"
)
_ADDED: Final = {"request": REQUEST_MEDIA_TYPE_ADDED, "response": RESPONSE_MEDIA_TYPE_ADDED}


class ContentChecks(Checks):
    def content(
        self,
        at: str,
        old: dict[str, Json],
        new: dict[str, Json],
        direction: Direction,
        success: bool,
    ) -> None:
        """Compare the media types of a request body or response and their schemas."""
        old_media = {k.lower(): obj(v) for k, v in obj(old.get("content")).items()}
        new_media = {k.lower(): obj(v) for k, v in obj(new.get("content")).items()}
        for media in sorted(old_media.keys() | new_media.keys()):
            label = at if media == "application/json" else f"{at} ({media})"
            if media not in new_media:
                self.add(
                    _media_removed_rule(direction, success), label, f"media type {media} removed"
                )
            elif media not in old_media:
                self.add(_ADDED[direction], label, f"media type {media} added")
            else:
                before, after = old_media[media], new_media[media]
                if "schema" in before or "schema" in after:
                    self.schema(
                        before.get("schema", {}), after.get("schema", {}), label, "", direction
                    )
                unclassified(self.report, before, after, frozenset({"schema"}), label)


def _media_removed_rule(direction: Direction, success: bool) -> str:
    if direction == "request":
        return REQUEST_MEDIA_TYPE_REMOVED
    return RESPONSE_MEDIA_TYPE_REMOVED if success else ERROR_RESPONSE_MEDIA_TYPE_REMOVED
