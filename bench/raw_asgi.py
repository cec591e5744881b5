"""The reads reference: a bare ASGI app on the same uvicorn settings as `seam-api serve`.

`GET /api/v1/users?limit=50` answers the 50-row list SEAM API itself returned (saved to a
file by the bench), serialised with orjson on every request, in the same envelope. No routing
framework, no validation, no database: the floor a Python server pays for the HTTP round trip
and the JSON. Usage: `python bench/raw_asgi.py ROWS_JSON PORT`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import uvicorn

Scope = dict[str, Any]
Receive = Any
Send = Any


def make_app(rows: list[dict[str, Any]]) -> Any:
    headers = [(b"content-type", b"application/json")]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        authorized = any(name == b"authorization" for name, _ in scope["headers"])
        if scope["path"] != "/api/v1/users" or not authorized:
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        body = orjson.dumps({"success": True, "message": "Users fetched", "data": rows})
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    rows = orjson.loads(Path(sys.argv[1]).read_bytes())
    uvicorn.run(
        make_app(rows),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        loop="asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
