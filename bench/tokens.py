"""What a bearer token costs a request: the edge's work per request (read the `Authorization`
header, verify the token) measured in-process, for a token seen before (the verifier's cache,
what every request after a client's first pays) and for a new one (an ES384 verification).

    .venv/bin/python bench/tokens.py              # prints the figures
    .venv/bin/python bench/tokens.py --calls 200000

The whole request with a token is measured by `bench/run.py` (`make bench`): its read-by-id
scenario sends an admin token with every request, and its check compares the reads/s with the
ceiling probe of the same run. The target of the identity issue: under 0.2 ms per request with
cached keys, and reads at 55% of the ceiling or more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tobiume.api.authentication import bearer_token
from tobiume.auth import endpoints
from tobiume.auth.keys import KeyFile, load_or_create
from tobiume.auth.tokens import issue, local_verifier

BASE = "http://localhost:8000/fhir"
TARGET_MS = 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--fresh", type=int, default=2_000, help="new tokens to verify")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "keys.json"
        keys = load_or_create(path)
        verifier = local_verifier(KeyFile(path), BASE)

        def mint() -> str:
            return issue(
                keys,
                issuer=endpoints.issuer(BASE),
                audience=endpoints.audience(BASE),
                subject="Organization/bench",
                role="hospital",
                organization="Organization/bench",
                scope="system/*.rs",
                lifetime=3600,
            )

        token = mint()
        scope = {
            "headers": [(b"host", b"localhost"), (b"authorization", f"Bearer {token}".encode())]
        }
        verifier.verify(token)
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(args.calls):
                verifier.verify(bearer_token(scope))
            runs.append((time.perf_counter() - started) / args.calls * 1000)
        cached = statistics.median(runs)
        fresh_tokens = [mint() for _ in range(args.fresh)]
        started = time.perf_counter()
        for fresh in fresh_tokens:
            verifier.verify(fresh)
        uncached = (time.perf_counter() - started) / args.fresh * 1000
    print(
        f"header + verify, token seen before: {cached * 1000:.2f} µs per request "
        f"(median of 5 x {args.calls:,})"
    )
    print(f"header + verify, new token (ES384):  {uncached:.3f} ms per token ({args.fresh:,})")
    verdict = "PASS" if cached < TARGET_MS else "FAIL"
    print(f"{verdict}  token verification adds under {TARGET_MS} ms per request (cached)")
    return 0 if cached < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
