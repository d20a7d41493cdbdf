"""Serve the app with N worker processes, each on its own SO_REUSEPORT socket.

Why not `uvicorn --workers`: its supervisor shares one socket created with protocol 0, so asyncio never
sets TCP_NODELAY on accepted connections and every keep-alive response waits ~40 ms for a delayed ACK
(uvicorn issue #3149); and one worker tends to accept every connection of a burst while the other idles.
Here each worker binds its own socket with IPPROTO_TCP and SO_REUSEPORT, so the kernel spreads
connections across the workers and Nagle's algorithm is off.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, access_log: bool) -> None:
    import uvicorn

    from civic.config import get_settings

    # X-Forwarded-For names the client only when it comes from a proxy the operator named: otherwise
    # anyone could pick the address the login throttle counts them under (ASVS 2.2.1). uvicorn's own
    # default trusts 127.0.0.1, which is every client of a proxy-less local serve.
    trusted = get_settings().trusted_proxies.strip()
    config = uvicorn.Config("civic.main:serving_app", factory=True, host=host, port=port,
                            access_log=access_log, proxy_headers=bool(trusted),
                            forwarded_allow_ips=trusted or None, lifespan="on")
    server = uvicorn.Server(config)
    server.run(sockets=[_socket(host, port)])


def serve(host: str, port: int, workers: int, access_log: bool) -> int:
    if workers <= 1:
        _worker(host, port, access_log)
        return 0
    _socket(host, port).close()  # fail here, once, if the port is taken
    ctx = multiprocessing.get_context("spawn")
    procs: list = []
    stopping = False

    def start() -> None:
        p = ctx.Process(target=_worker, args=(host, port, access_log), daemon=False)
        p.start()
        procs.append(p)

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        start()
    print(f"civic: serving on http://{host}:{port} with {workers} workers", file=sys.stderr, flush=True)
    while not stopping:
        time.sleep(0.5)
        for p in list(procs):
            if not p.is_alive() and not stopping:
                procs.remove(p)
                print(f"civic: worker {p.pid} exited ({p.exitcode}); starting another", file=sys.stderr,
                      flush=True)
                start()
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    return 0
