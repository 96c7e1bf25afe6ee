"""Runs OpenIO's own Python API (`oio.api.object_storage.ObjectStorageApi`) for the tests.

Started with OpenIO's interpreter (Python 3.7 in OpenIO 7.3.0's virtualenv, so this
file avoids newer syntax), it reads one JSON request per line on stdin and writes
one JSON answer per line on stdout:

    {"method": "object_create", "args": [...], "kwargs": {...}}
    -> {"ok": true, "result": ...} | {"ok": false, "error": "NoSuchObject", ...}

`object_fetch` takes an extra `"out": <path>`: the object's bytes are written
there (streamed) and the answer holds the metadata and the byte count.
"""

import json
import sys
import traceback


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__iter__"):
        return [jsonable(v) for v in value]
    return str(value)


def answer(payload):
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main():
    namespace, proxy = sys.argv[1], sys.argv[2]
    from oio.api.object_storage import ObjectStorageApi

    api = ObjectStorageApi(namespace, endpoint=proxy)
    for line in sys.stdin:
        request = json.loads(line)
        method = request["method"]
        args = request.get("args") or []
        kwargs = request.get("kwargs") or {}
        try:
            if method == "object_fetch":
                out = request["out"]
                meta, stream = api.object_fetch(*args, **kwargs)
                size = 0
                with open(out, "wb") as dest:
                    for piece in stream:
                        dest.write(piece)
                        size += len(piece)
                result = {"meta": meta, "size": size}
            else:
                result = getattr(api, method)(*args, **kwargs)
            answer({"ok": True, "result": jsonable(result)})
        except Exception as exc:  # every failure is an answer, the driver goes on
            answer(
                {
                    "ok": False,
                    "error": type(exc).__name__,
                    "http_status": getattr(exc, "http_status", None),
                    "status": getattr(exc, "status", None),
                    "message": str(exc),
                    "traceback": traceback.format_exc(),
                }
            )


if __name__ == "__main__":
    main()
