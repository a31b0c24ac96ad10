# Python websockets peer for std/ietf/rfc6455 interop tests (Debian python3-websockets).
#   websocket_peer.py server PORT COMPRESSION   echo server; path /close closes with 4002
#   websocket_peer.py client URL COMPRESSION    scripted exchange; prints one JSON line
# COMPRESSION is "deflate" or "none".
import asyncio, json, os, sys, websockets

MAX = 2**25

async def echo(ws, path=None):
    path = path if path is not None else getattr(ws, "path", "/")
    async for msg in ws:
        if path == "/close":
            await ws.close(4002, "server bye")
            return
        await ws.send(msg)

async def server(port, compression):
    async with websockets.serve(echo, "127.0.0.1", port, compression=compression, max_size=MAX,
                                subprotocols=["sip"]):
        print("listening", flush=True)
        await asyncio.sleep(120)

async def client(url, compression):
    res = {}
    async with websockets.connect(url, compression=compression, max_size=MAX, subprotocols=["sip"],
                                  open_timeout=10, close_timeout=5) as ws:
        res["subprotocol"] = ws.subprotocol
        res["extensions"] = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        checks = []
        await ws.send("héllo wörld"); checks.append(await ws.recv() == "héllo wörld")
        b = os.urandom(1000); await ws.send(b); checks.append(await ws.recv() == b)
        await ws.send(["frag", "ment", "ed ", "text"]); checks.append(await ws.recv() == "fragmented text")
        await ws.send([b"\x00\x01", b"", b"\x02"]); checks.append(await ws.recv() == b"\x00\x01\x02")
        big = os.urandom(16 * 1024 * 1024); await ws.send(big); checks.append(await ws.recv() == big)
        text = ("SIP/2.0 200 OK\r\n" * 70000)[: 1024 * 1024]; await ws.send(text); checks.append(await ws.recv() == text)
        await ws.ping(b"ping!")
        res["checks"] = checks
        await ws.close(4001, "client bye")
        res["close_code"] = ws.close_code
        res["close_reason"] = ws.close_reason
    print(json.dumps(res), flush=True)

mode, where, comp = sys.argv[1], sys.argv[2], sys.argv[3]
comp = None if comp == "none" else "deflate"
if mode == "server":
    asyncio.run(server(int(where), comp))
else:
    asyncio.run(asyncio.wait_for(client(where, comp), 60))
