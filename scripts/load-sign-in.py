#!/usr/bin/env python3
"""Sign-in load test for `castellan serve` (issue 10): started by hand, not by `cargo test`.

Starts a release build of castellan on a fresh data directory, claims the workspace, then fires
ATTEMPTS concurrent sign-in attempts (default 250), each over its own connection from its own
loopback source address (127.0.0.2, 127.0.0.3, ...), so that the per-IP rate limit does not
stop them before the password check. Every attempt runs Argon2id (unknown emails are checked
against a dummy hash). Meanwhile it samples the server's resident memory every 20 ms and asks
`GET /api/v1/health` every 100 ms.

It passes when the server's peak RSS (the kernel's VmHWM, or the highest 20 ms sample if higher)
stays under --max-rss-mb (default 96, in MB of 10^6 bytes)
and every health request answers 200 within --max-health-s (default 1.0). Prints the figures;
exit status 0 on pass, 1 on fail. Linux only (reads /proc). Python 3.11, standard library only.

    cargo build --release -p castellan
    python3 scripts/load-sign-in.py                 # looks in $CARGO_TARGET_DIR or ./target
    python3 scripts/load-sign-in.py --rounds 3 --attempts 250 --binary path/to/castellan
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "owner-password-123"


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "target"
    )
    return os.path.join(target, "release", "castellan")


def rss_kib(pid, field):
    """VmRSS or VmHWM of `pid` in KiB, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


async def request(host, port, method, path, body=None, source=None, timeout=60.0):
    """One HTTP/1.1 request over a new connection; returns (status, headers, body bytes)."""
    local = (source, 0) if source else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, local_addr=local), timeout
    )
    try:
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, payload


def start_server(binary, data_dir):
    env = dict(os.environ, CASTELLAN_LOG="warn")
    for k in ("CASTELLAN_DATABASE_URL", "CASTELLAN_MASTER_KEY_FILE", "CASTELLAN_CONFIG"):
        env.pop(k, None)
    proc = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0",
         "--smtp-listen", "off", "--workers", "0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    url = None
    for line in proc.stderr:
        m = re.search(rb"castellan is serving on (http://\S+)", line)
        if m:
            url = m.group(1).decode()
            break
    if url is None:
        raise SystemExit(f"castellan serve did not start (exit {proc.wait()})")
    token = None
    for line in proc.stdout:
        m = re.search(rb"(cst_setup_\S+)", line)
        if m:
            token = m.group(1).decode()
            break
    # Keep draining both pipes so that the server never blocks on a full pipe.
    for stream in (proc.stdout, proc.stderr):
        asyncio.get_running_loop().run_in_executor(None, stream.read)
    return proc, url, token


async def sampler(pid, samples, stop):
    while not stop.is_set():
        v = rss_kib(pid, "VmRSS")
        if v is not None:
            samples.append((time.monotonic(), v))
        await asyncio.sleep(0.02)


async def health_prober(host, port, results, stop):
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            status, _, _ = await request(host, port, "GET", "/api/v1/health", timeout=30.0)
        except Exception as e:  # noqa: BLE001 - any failure counts
            status = f"error: {e!r}"
        results.append((t0, time.monotonic() - t0, status))
        await asyncio.sleep(0.1)


async def burst(host, port, attempts, round_no):
    """`attempts` sign-ins released together, each from its own loopback source address."""
    go = asyncio.Event()

    async def one(i):
        block, idx = divmod(i, 250)
        source = f"127.0.{block}.{idx + 2}"  # 127.0.0.2 ... 127.0.0.251, then 127.0.1.2 ...
        if i < 4:
            # A few on the real person: one right password, three wrong (5 a minute per email).
            email, password = OWNER_EMAIL, OWNER_PASSWORD if i == 0 else f"wrong-{round_no}-{i}-pw"
        else:
            email, password = f"user-{round_no}-{i}@example.com", "not-the-password-1"
        await go.wait()
        try:
            status, headers, body = await request(
                host, port, "POST", "/api/v1/auth/sign-in",
                {"email": email, "password": password}, source=source,
            )
        except Exception as e:  # noqa: BLE001
            return f"error: {e!r}", None
        return status, headers.get("retry-after")

    tasks = [asyncio.create_task(one(i)) for i in range(attempts)]
    await asyncio.sleep(0.2)
    t0 = time.monotonic()
    go.set()
    out = await asyncio.gather(*tasks)
    return out, time.monotonic() - t0


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=default_binary())
    ap.add_argument("--attempts", type=int, default=250)
    ap.add_argument("--rounds", type=int, default=1, help="bursts, 3 s apart")
    ap.add_argument("--max-rss-mb", type=float, default=96.0)
    ap.add_argument("--max-health-s", type=float, default=1.0)
    args = ap.parse_args()
    if args.attempts > 250 * 254:
        raise SystemExit("too many attempts for the loopback addresses used")
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"no castellan binary at {binary}: cargo build --release -p castellan")

    with tempfile.TemporaryDirectory(prefix="castellan-load-") as tmp:
        proc, url, setup_token = start_server(binary, os.path.join(tmp, "data"))
        host, port = url.removeprefix("http://").rsplit(":", 1)
        port = int(port)
        try:
            status, _, body = await request(host, port, "POST", "/api/v1/setup/claim", {
                "setup_token": setup_token, "email": OWNER_EMAIL, "name": "Owner",
                "password": OWNER_PASSWORD,
            })
            if status != 201:
                raise SystemExit(f"claim failed: {status} {body[:300]!r}")
            idle_kib = rss_kib(proc.pid, "VmRSS")
            stop = asyncio.Event()
            samples, health = [], []
            bg = [asyncio.create_task(sampler(proc.pid, samples, stop)),
                  asyncio.create_task(health_prober(host, port, health, stop))]
            statuses = Counter()
            retry_after = Counter()
            durations = []
            for r in range(args.rounds):
                if r:
                    await asyncio.sleep(3)
                out, took = await burst(host, port, args.attempts, r)
                durations.append(took)
                for status, ra in out:
                    statuses[status] += 1
                    if status == 503:
                        retry_after[ra] += 1
            await asyncio.sleep(2.0)
            stop.set()
            await asyncio.gather(*bg)
            after_kib = rss_kib(proc.pid, "VmRSS")
            peak_kib = rss_kib(proc.pid, "VmHWM")
            alive = proc.poll() is None
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    sampled_peak = max((v for _, v in samples), default=0)
    # The kernel updates VmHWM from per-thread counters, so a 20 ms sample can read a little
    # higher: the peak is the larger of the two.
    peak_kib = max(peak_kib or 0, sampled_peak)
    worst = max((d for _, d, _ in health), default=0.0)
    bad_health = [(d, s) for _, d, s in health if s != 200 or d > args.max_health_s]
    mib = lambda kib: kib / 1024  # noqa: E731
    print(f"castellan: {binary}")
    print(f"sign-in attempts: {args.attempts} x {args.rounds} round(s), each from its own 127.0.x.y")
    print(f"burst durations: {', '.join(f'{d:.2f} s' for d in durations)}")
    print(f"answers: {dict(sorted(statuses.items(), key=str))}")
    if retry_after:
        print(f"Retry-After on 503: {dict(retry_after)}")
    print(f"RSS idle before: {mib(idle_kib):.1f} MiB; peak: {mib(peak_kib):.1f} MiB = "
          f"{peak_kib * 1024 / 1e6:.1f} MB (VmHWM and 20 ms samples; limit {args.max_rss_mb} MB); "
          f"2 s after: {mib(after_kib):.1f} MiB")
    print(f"health: {len(health)} requests, slowest {worst * 1000:.0f} ms, "
          f"{len(bad_health)} over {args.max_health_s} s or not 200")
    ok = (
        alive
        and peak_kib * 1024 / 1e6 < args.max_rss_mb
        and not bad_health
        and not any(isinstance(s, str) or s >= 500 and s != 503 for s in statuses)
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
