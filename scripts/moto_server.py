"""moto's server (the local AWS emulator) with corrections of its wire format.

Run with the virtualenv's Python: `python scripts/moto_server.py -H 127.0.0.1 -p PORT`.
It serves exactly what `moto_server` serves, except where moto departs from the wire
format AWS documents; each correction below cites the AWS documentation it restores.
A correction only renames or reshapes an answer AWS would give: it never makes the
emulator do something AWS does not do.
"""

import argparse
import os
import re
import signal
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

# S3 (REST-XML): moto 5.2 names the root element of some answers `<{Action}Response>`.
# AWS documents these roots, and aws-sdk-rust rejects any other:
# - GetBucketVersioning: `<VersioningConfiguration>`
#   https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
# - GetBucketAccelerateConfiguration: `<AccelerateConfiguration>`
#   https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAccelerateConfiguration.html
# - ListParts: `<ListPartsResult>`
#   https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
S3_ROOTS = {
    b"GetBucketVersioningResponse": b"VersioningConfiguration",
    b"GetBucketAccelerateConfigurationResponse": b"AccelerateConfiguration",
    b"ListPartsResponse": b"ListPartsResult",
}
ROOT = re.compile(rb"<(/?)(" + b"|".join(re.escape(k) for k in S3_ROOTS) + rb")([\s>])")


def correct_s3_roots(app):
    """Rename the root element of the S3 answers listed in S3_ROOTS."""

    def wrapped(environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET":
            return app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(app(environ, capture))
        fixed = ROOT.sub(lambda m: b"<" + m.group(1) + S3_ROOTS[m.group(2)] + m.group(3), body, count=2)
        headers = captured["headers"]
        if fixed != body:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(fixed))))
        start_response(captured["status"], headers)
        return [fixed]

    return wrapped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        correct_s3_roots(app),
        threaded=True,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
