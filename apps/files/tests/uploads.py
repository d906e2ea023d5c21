"""An upload as the browser's uploader makes it: declare the file, POST it to S3 with the
presigned fields, complete it; and images to upload (a small PNG, a decompression bomb)."""

import io
import json
import urllib.parse
import urllib.request
import uuid

from PIL import Image


def png(width=64, height=48, color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def bomb_png(width=20000, height=20000):
    """A tiny file that decodes to 400 million pixels."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def start(client, name="photo.png", size=None, content_type="image/png", data=b""):
    response = client.post(
        "/api/files/",
        data=json.dumps(
            {
                "name": name,
                "size": len(data) if size is None else size,
                "content_type": content_type,
            }
        ),
        content_type="application/json",
    )
    return response


def post_to_s3(upload, data, filename="upload.bin"):
    """What the browser does: a multipart POST of the policy fields and the file to S3."""
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in upload["fields"].items():
        disposition = f'Content-Disposition: form-data; name="{key}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        upload["url"],
        data=b"".join(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def upload(client, data, **kwargs):
    started = start(client, data=data, **kwargs)
    assert started.status_code == 201, started.content
    body = started.json()
    post_to_s3(body["upload"], data)
    return body["file"]["id"], client.post(body["file"]["complete_url"])


def object_created(key, name="ObjectCreated:Post"):
    """The S3 event the media bucket sends the function when an object is created at ``key``."""
    return {
        "Records": [{"eventName": name, "s3": {"object": {"key": urllib.parse.quote_plus(key)}}}]
    }
