"""JWT verification: our ``verify_token`` vs PyJWT + cryptography, and JWKS fetch counts.

    make bench-jwt      (.venv/bin/python bench/jwt_bench.py [--tokens 200] [--rounds 20]
                         [--cold-runs 15] [--threads 16] [--unknown-kids 1000]
                         [--fetch-runs 20])

One run, loopback only, the lambda target's settings; writes bench/results/jwt.json.

- per token: ``apps.accounts.tokens.verify_token`` (keys seeded from a JWKS file, the
  revocation check off: no network) vs bench/pyjwt_baseline.py (PyJWT's ``jwt.decode``,
  cryptography keys, the same claim checks), the same distinct tokens in interleaved rounds;
  median and p95 per call in us. Then the bare RS256 signature step of each, alike.
- cold: a fresh interpreter per sample (Django already set up, as in a Lambda init): the
  import of each verification path, then its first verification (JWKS file parsed, key
  built). Ours also runs with cryptography unimportable, as in the Lambda package.
- JWKS fetches: a loopback JWKS server counts requests while ``--threads`` threads verify:
  known kid with the seed file (expect 0) and without (1), ``--unknown-kids`` random kids
  (1: the cooldown bounds it), a new key at the server after the seed (1, then all verify).
  Counts, not times; each scenario ``--fetch-runs`` times on a fresh cache, since a race
  shows only in some runs.
"""

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.jwt_fetches import fetch_counts  # noqa: E402
from bench.jwt_timing import (  # noqa: E402
    OURS,
    OURS_PACKAGED,
    OURS_REPEATED,
    OURS_SIGNATURE,
    PYJWT,
    PYJWT_SIGNATURE,
    cold,
    per_call,
)
from bench.machine import describe  # noqa: E402
from deploy.tools.harness import fake_cognito  # noqa: E402
from deploy.tools.harness.loopback import free_port  # noqa: E402
from deploy.tools.harness.processes import DEPLOYED_ENV  # noqa: E402


def token_env(jwks_file):
    """The lambda target, verifying the fake Cognito's pool: keys from ``jwks_file``, no network.

    The JWKS URL is a closed port: a fetch attempt would fail, and show in the counts.
    """
    return {
        **DEPLOYED_ENV,
        "DJANGO_DEPLOY_TARGET": "lambda",
        "DJANGO_SETTINGS_MODULE": "project.settings.lambda",
        "DATABASE_URL": "sqlite://:memory:",
        "DJANGO_LOG_LEVEL": "WARNING",
        "AWS_REGION": fake_cognito.REGION,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "COGNITO_USER_POOL_ID": fake_cognito.POOL_ID,
        "COGNITO_APP_CLIENT_ID": fake_cognito.CLIENT_ID,
        "COGNITO_ISSUER": fake_cognito.ISSUER,
        "COGNITO_JWKS_FILE": str(jwks_file),
        "COGNITO_JWKS_URL": f"http://127.0.0.1:{free_port()}/jwks.json",
        "COGNITO_CHECK_REVOCATION": "false",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--tokens", type=int, default=200, help="distinct tokens per round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cold-runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--unknown-kids", type=int, default=1000)
    parser.add_argument("--fetch-runs", type=int, default=20, help="runs per JWKS scenario")
    parser.add_argument("--output", type=Path, default=record.RESULTS_DIR / "jwt.json")
    args = parser.parse_args()
    began = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="amphibian-bench-jwt-") as scratch:
        key = fake_cognito.SigningKey("bench-key-1")
        jwks_file = Path(scratch) / "jwks.json"
        jwks_file.write_text(json.dumps(fake_cognito.jwks_document(key)))
        env = token_env(jwks_file)
        os.environ.update(env)
        import django

        django.setup()

        tokens = [key.sign(fake_cognito.claims()) for _ in range(args.tokens)]
        print(f"per call: {args.rounds} rounds of {args.tokens} tokens...", flush=True)
        verification, signature = per_call(tokens, key.private.public_key(), key.jwk, args.rounds)
        print(f"cold: {args.cold_runs} fresh interpreters per path...", flush=True)
        cold_rows = cold(tokens[0], env, args.cold_runs)
        print("JWKS fetch counts...", flush=True)
        fetches = fetch_counts(
            key, tokens, args.threads, args.unknown_kids, args.fetch_runs, scratch
        )

    def ratio(a, b):
        return round(a / b, 2) if b else None

    ratios = {
        "verify_token_median_ours_to_pyjwt": ratio(
            verification[OURS]["median_us"], verification[PYJWT]["median_us"]
        ),
        "verify_token_p95_ours_to_pyjwt": ratio(
            verification[OURS]["p95_us"], verification[PYJWT]["p95_us"]
        ),
        "cold_import_and_first_verification_packaged_ours_to_pyjwt": ratio(
            cold_rows[OURS_PACKAGED]["import_and_first_verification_ms"],
            cold_rows[PYJWT]["import_and_first_verification_ms"],
        ),
        "verify_token_repeated_median_ours_to_pyjwt": ratio(
            verification[OURS_REPEATED]["median_us"], verification[PYJWT]["median_us"]
        ),
        "signature_median_ours_to_pyjwt": ratio(
            signature[OURS_SIGNATURE]["median_us"], signature[PYJWT_SIGNATURE]["median_us"]
        ),
    }
    from django.conf import settings

    result = {
        "benchmark": "JWT verification cost and JWKS fetch counts (lambda target settings)",
        "command": shlex.join(["python", "bench/jwt_bench.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": describe(("django", "pyjwt", "cryptography")),
        "duration_s": round(time.monotonic() - began),
        "setup": {
            "key": "RSA 2048, RS256, Cognito-shaped access tokens"
            " (deploy/tools/harness/fake_cognito.py)",
            "revocation_check": False,
            "jwks_cooldown_s": settings.COGNITO_JWKS_COOLDOWN,
            "tokens_per_round": args.tokens,
            "rounds": args.rounds,
        },
        "verification": verification,
        "signature_step": signature,
        "cold": cold_rows,
        "jwks_fetches": fetches,
        "ratios": ratios,
        "goals": {
            "jwks_fetch_counts_as_expected": all(row["as_expected"] for row in fetches.values()),
            "ours_verifies_without_cryptography": cold_rows[OURS_PACKAGED]["verified"],
        },
    }
    record.write(args.output, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
