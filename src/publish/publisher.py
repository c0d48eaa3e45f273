"""Publishing web/ to the website bucket: the logic behind Custom::WebsitePublisher, with no CloudFormation in it.

`sync` makes the bucket hold exactly the files of a directory, uploading only what is new or changed (the
file's MD5 against the object's ETag, and the Content-Type and Cache-Control it should carry) and deleting
what is gone; `empty` removes everything; `invalidate` drops the distribution's cached copies."""

import base64
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from web_content_types import content_type

logger = logging.getLogger(__name__)


# Pages are revalidated on every visit, so a deploy shows at once. The other files keep their names from
# one deploy to the next (no content hash in them), so browsers keep them only briefly.
PAGE_CACHE_CONTROL = "no-cache"
ASSET_CACHE_CONTROL = "public, max-age=300"

DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class LocalFile:
    key: str
    path: Path
    md5: str  # hex digest, as S3 reports a single-part upload's ETag
    content_type: str
    cache_control: str


@dataclass
class SyncResult:
    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def cache_control(key: str) -> str:
    return PAGE_CACHE_CONTROL if key.lower().endswith(".html") else ASSET_CACHE_CONTROL


def local_files(root: Path) -> list[LocalFile]:
    """Every file under `root` (symbolic links followed; hidden files and folders left out), keyed by its
    path relative to `root` with / separators."""
    if not root.is_dir():
        raise PublishError(f"{root} is not a directory")
    files = []
    for directory, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(directory, name)
            key = path.relative_to(root).as_posix()
            md5 = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            files.append(LocalFile(key, path, md5, content_type(name), cache_control(key)))
    return files


def remote_etags(s3, bucket: str) -> dict[str, str]:
    etags = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            etags[item["Key"]] = item["ETag"].strip('"')
    return etags


def sync(s3, bucket: str, root: Path) -> SyncResult:
    """Make `bucket` hold exactly the files under `root`, with their content types and cache headers."""
    files = local_files(root)
    if not files:
        # A package without its web files must not wipe the live site.
        raise PublishError(f"{root} holds no files to publish")
    remote = remote_etags(s3, bucket)
    result = SyncResult()
    for file in files:
        if remote.get(file.key) == file.md5 and _headers_match(s3, bucket, file):
            result.unchanged.append(file.key)
            continue
        body = file.path.read_bytes()
        s3.put_object(
            Bucket=bucket, Key=file.key, Body=body, ContentType=file.content_type, CacheControl=file.cache_control,
            ContentMD5=base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode(),
        )
        result.uploaded.append(file.key)
    result.deleted = sorted(set(remote) - {file.key for file in files})
    _delete(s3, bucket, [{"Key": key} for key in result.deleted])
    logger.info("published %s: %d uploaded, %d unchanged, %d deleted", bucket,
                len(result.uploaded), len(result.unchanged), len(result.deleted))
    return result


def empty(s3, bucket: str) -> int:
    """Delete every object in `bucket`, by key: the website bucket is unversioned, and ListObjectsV2 and
    DeleteObjects are all the publisher's role grants (s3:ListBucket, s3:DeleteObject), never the
    version-level ListBucketVersions or DeleteObjectVersion."""
    objects = [{"Key": key} for key in remote_etags(s3, bucket)]
    _delete(s3, bucket, objects)
    logger.info("emptied %s: %d objects deleted", bucket, len(objects))
    return len(objects)


def invalidate(cloudfront, distribution_id: str, reference: str) -> str:
    """Invalidate every path of the distribution; returns the invalidation's id (it completes on its own)."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": reference},
    )
    return answer["Invalidation"]["Id"]


def _headers_match(s3, bucket: str, file: LocalFile) -> bool:
    head = s3.head_object(Bucket=bucket, Key=file.key)
    return head.get("ContentType") == file.content_type and head.get("CacheControl") == file.cache_control


def _delete(s3, bucket: str, objects: list[dict]) -> None:
    for start in range(0, len(objects), DELETE_BATCH):
        batch = objects[start:start + DELETE_BATCH]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise PublishError(f"could not delete {len(errors)} object(s) from {bucket}, "
                               f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}")
