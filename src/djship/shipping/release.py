"""Releases: the production image under an immutable version, labelled with what it is.

The labels (OCI annotations plus djship's own) travel with the image into any registry, so
whoever pulls a release can read its version, commit and migrations without djship.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from djship.shipping.migrations import Graph
from djship.shipping.version import Source

WEB_IMAGE_SUFFIX = "-web"
PROD_TAG = "prod"  # what `docker compose` runs in prod: always the live release after a deploy
PROJECT_LABEL = "io.djship.project"
MIGRATIONS_LABEL = "io.djship.migrations"
VERSION_LABEL = "org.opencontainers.image.version"


def local_image(project: str, version: str) -> str:
    return f"{project}{WEB_IMAGE_SUFFIX}:{version}"


def registry_image(registry: str, project: str, version: str) -> str:
    return f"{registry.rstrip('/')}/{project}{WEB_IMAGE_SUFFIX}:{version}"


def prod_image(project: str) -> str:
    return local_image(project, PROD_TAG)


@dataclass(frozen=True)
class ReleaseFacts:
    """What is known of a release when its image is labelled."""

    project: str
    version: str
    created: str
    source: Source
    graph: Graph

    def labels(self) -> dict[str, str]:
        labels = {
            "org.opencontainers.image.title": self.project,
            VERSION_LABEL: self.version,
            "org.opencontainers.image.created": self.created,
            PROJECT_LABEL: self.project,
            MIGRATIONS_LABEL: json.dumps(self.graph.latest(), sort_keys=True),
        }
        if self.source.commit:
            labels["org.opencontainers.image.revision"] = self.source.commit
        return labels

    def details(self, image_id: str, image: str) -> dict:
        """What the ledger's `released` event keeps, for operators without the image."""
        return {
            "image_id": image_id,
            "image": image,
            "revision": self.source.commit or "",
            "dirty": self.source.dirty,
            "migrations": self.graph.latest(),
        }


def label_dockerfile(base: str) -> bytes:
    """The context-less Dockerfile that adds labels to an image already built."""
    return f"FROM {base}\n".encode()
