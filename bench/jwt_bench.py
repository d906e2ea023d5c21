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
import random
import shlex
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import pyjwt_baseline, record  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.stats import median_p95_us  # noqa: E402
from tests.fixtures import DEPLOYED_ENV, free_port, run_python, subprocess_env  # noqa: E402

OURS = "ours: apps.accounts.tokens.verify_token"
PYJWT = "PyJWT jwt.decode + cryptography"
OURS_PACKAGED = "ours, cryptography not importable (Lambda package)"
PYJWT_SIGNATURE = "PyJWT RSAAlgorithm.verify (cryptography)"
OURS_SIGNATURE = "ours: apps.accounts.rsa.verify"
# rsa.verify caches checked signatures: OURS and OURS_SIGNATURE clear that cache before each
# call (untimed), so they are a token's first sight; OURS_REPEATED is the same token again.
OURS_REPEATED = "ours: verify_token, a token seen before (signature cached)"
ACCESS = ("access",)

COLD_PROBE = """
import json, os, sys, time

variant, token, without_cryptography = sys.argv[1:4]
if without_cryptography == "1":
    sys.modules["cryptography"] = None  # the Lambda package does not ship it
import django

django.setup()
preloaded = sys.modules.get("cryptography") is not None
clock = time.perf_counter
started = clock()
imported = error = None
try:
    if variant.startswith("ours"):
        from apps.accounts.tokens import verify_token
        imported = clock()
        verify_token(token, token_uses=("access",))
    else:
        from bench import pyjwt_baseline
        imported = clock()
        with open(os.environ["COGNITO_JWKS_FILE"]) as jwks:
            keys = pyjwt_baseline.keys_from_jwks(jwks.read())
        pyjwt_baseline.verify(
            token,
            keys,
            issuer=os.environ["COGNITO_ISSUER"],
            client_ids={os.environ["COGNITO_APP_CLIENT_ID"]},
        )
except Exception as exc:
    error = repr(exc)
verified = clock()
imported = imported or verified
print(json.dumps({
    "import_ms": (imported - started) * 1000,
    "first_verification_ms": (verified - imported) * 1000,
    "cryptography_loaded": not preloaded and sys.modules.get("cryptography") is not None,
    "error": error,
}))
"""


def token_env(jwks_file):
    """The lambda target, verifying the factories' pool: keys from ``jwks_file``, no network.

    The JWKS URL is a closed port: a fetch attempt would fail, and show in the counts.
    """
    from apps.accounts.tests import factories

    return {
        **DEPLOYED_ENV,
        "DJANGO_DEPLOY_TARGET": "lambda",
        "DJANGO_SETTINGS_MODULE": "project.settings.lambda",
        "DATABASE_URL": "sqlite://:memory:",
        "DJANGO_LOG_LEVEL": "WARNING",
        "AWS_REGION": factories.REGION,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "COGNITO_USER_POOL_ID": factories.POOL_ID,
        "COGNITO_APP_CLIENT_ID": factories.CLIENT_ID,
        "COGNITO_ISSUER": factories.ISSUER,
        "COGNITO_JWKS_FILE": str(jwks_file),
        "COGNITO_JWKS_URL": f"http://127.0.0.1:{free_port()}/jwks.json",
        "COGNITO_CHECK_REVOCATION": "false",
    }


# --- per-call cost -------------------------------------------------------------------------


def time_calls(variants, items, rounds):
    """Median and p95 us per call of each variant: over every item, each round, interleaved.

    A variant is ``check`` or ``(prepare, check)``; ``prepare(item)`` runs before each
    call, untimed. Each variant is checked on every item first (and warmed up): a failing check
    would otherwise be timed as a fast one.
    """
    variants = {
        name: variant if isinstance(variant, tuple) else (None, variant)
        for name, variant in variants.items()
    }
    for name, (_, check) in variants.items():
        for item in items:
            if not check(item):
                raise SystemExit(f"{name} rejected a valid token")
    samples = {name: [] for name in variants}
    names = list(variants)
    clock = time.perf_counter_ns
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            (prepare, check), times = variants[name], samples[name]
            for item in items:
                if prepare:
                    prepare(item)
                started = clock()
                check(item)
                times.append((clock() - started) / 1000)
    return {name: {"calls": len(times), **median_p95_us(times)} for name, times in samples.items()}


def signature_checks(public_key, jwk):
    """``{name: check((signing_input, signature))}`` for each bare RS256 signature step.

    PyJWT's is what ``jwt.decode`` runs with a cryptography key; ours is the pure-Python
    check of apps/accounts/rsa.py that ``verify_token`` runs.
    """
    from jwt.algorithms import RSAAlgorithm

    from apps.accounts import rsa

    pyjwt, key = RSAAlgorithm(RSAAlgorithm.SHA256), rsa.RSAPublicKey.from_jwk(jwk)

    def forget(_):
        rsa.verify.cache_clear()

    return {
        OURS_SIGNATURE: (forget, lambda item: rsa.verify(key, *item)),
        PYJWT_SIGNATURE: lambda item: pyjwt.verify(item[0], public_key, item[1]),
    }


def per_call(tokens, public_key, jwk, rounds):
    from django.conf import settings
    from jwt.utils import base64url_decode

    from apps.accounts import tokens as ours
    from apps.accounts.rsa import verify as signature_cache

    def check(token):
        return ours.verify_token(token, token_uses=ACCESS)

    def forget(_):
        signature_cache.cache_clear()

    if set(ours.REQUIRED_CLAIMS) != set(pyjwt_baseline.REQUIRED_CLAIMS):
        raise SystemExit("bench/pyjwt_baseline.py no longer checks the claims ours does")
    with open(settings.COGNITO_JWKS_FILE) as jwks:
        keys = pyjwt_baseline.keys_from_jwks(jwks.read())
    client_ids = frozenset(settings.COGNITO_APP_CLIENT_ID)
    verification = time_calls(
        {
            OURS: (forget, check),
            # Seen just before, untimed: other variants' rounds clear the cache in between.
            OURS_REPEATED: (check, check),
            PYJWT: lambda token: pyjwt_baseline.verify(
                token, keys, issuer=settings.COGNITO_ISSUER, client_ids=client_ids
            ),
        },
        tokens,
        rounds,
    )
    signed = []
    for token in tokens:
        signing_input, _, signature = token.rpartition(".")
        signed.append((signing_input.encode(), base64url_decode(signature)))
    signature = time_calls(signature_checks(public_key, jwk), signed, rounds)
    return verification, signature


# --- cold start ----------------------------------------------------------------------------


def cold(token, env, runs):
    """Import and first verification of each path in fresh interpreters, interleaved."""
    variants = (OURS, OURS_PACKAGED, PYJWT)
    samples = {name: [] for name in variants}
    for run in range(runs):
        shift = run % len(variants)
        for name in variants[shift:] + variants[:shift]:
            without = "1" if name == OURS_PACKAGED else "0"
            probe = run_python(COLD_PROBE, subprocess_env(**env), args=(name, token, without))
            if probe.returncode:
                raise SystemExit(f"cold probe {name!r} failed:\n{probe.stderr}")
            samples[name].append(json.loads(probe.stdout.strip().splitlines()[-1]))
    rows = {}
    for name, runs_ in samples.items():
        errors = [sample["error"] for sample in runs_ if sample["error"]]
        imports = [sample["import_ms"] for sample in runs_]
        firsts = [sample["first_verification_ms"] for sample in runs_]
        totals = [a + b for a, b in zip(imports, firsts, strict=True)]
        rows[name] = {
            "runs": len(runs_),
            "import_ms": round(statistics.median(imports), 1),
            "first_verification_ms": round(statistics.median(firsts), 1),
            "import_and_first_verification_ms": round(statistics.median(totals), 1),
            "loads_cryptography": any(sample["cryptography_loaded"] for sample in runs_),
            "verified": not errors,
            "error": errors[0] if errors else None,
        }
    return rows


# --- JWKS fetch counts ---------------------------------------------------------------------


def random_kid(rng):
    return "".join(rng.choices(string.ascii_letters + string.digits, k=16))


def fetch_scenario(
    *, seed, served, tokens, expected_fetches, expect_verified, threads, runs, scratch
):
    """Verify ``tokens`` from ``threads`` threads, ``runs`` times, each on a fresh cache."""
    from django.test import override_settings

    from apps.accounts.tests import factories
    from apps.accounts.tokens import TokenError, verify_token

    seed_file = None
    if seed:
        seed_file = Path(scratch) / f"seed-{'-'.join(key.kid for key in seed)}.json"
        seed_file.write_text(json.dumps(factories.jwks_document(*seed)))

    def attempt(token):
        try:
            verify_token(token, token_uses=ACCESS)
        except TokenError as exc:
            return exc.reason
        return "verified"

    fetches, outcomes = Counter(), Counter()
    as_expected = 0
    for _ in range(runs):
        # A new server is a new URL: the process-wide cache starts empty for each run.
        with factories.JWKSServer(*served) as server:
            overrides = {
                "COGNITO_JWKS_URL": f"{server.url}/jwks.json",
                "COGNITO_JWKS_FILE": seed_file,
            }
            with override_settings(**overrides), ThreadPoolExecutor(threads) as pool:
                run_outcomes = Counter(pool.map(attempt, tokens))
        fetches[server.fetches] += 1
        outcomes.update(run_outcomes)
        verified = run_outcomes["verified"] == (len(tokens) if expect_verified else 0)
        as_expected += server.fetches == expected_fetches and verified
    return {
        "threads": threads,
        "tokens": len(tokens),
        "runs": runs,
        "seeded_from_file": bool(seed),
        "expected_fetches": expected_fetches,
        "max_fetches": max(fetches),
        "runs_by_fetches": {str(count): n for count, n in sorted(fetches.items())},
        "outcomes": dict(outcomes),
        "runs_as_expected": as_expected,
        "as_expected": as_expected == runs,
    }


def fetch_counts(key, known_tokens, threads, unknown_kids, runs, scratch):
    from apps.accounts.tests import factories

    rotated = factories.SigningKey("bench-rotated-key")
    rng = random.Random(0)  # noqa: S311 - kids nobody knows, not secrets
    unknown = [
        key.sign(factories.claims(), headers={"kid": random_kid(rng)}) for _ in range(unknown_kids)
    ]
    rotated_tokens = [rotated.sign(factories.claims()) for _ in known_tokens]
    common = {"threads": threads, "runs": runs, "scratch": scratch}
    return {
        "known kid, keys seeded from the JWKS file": fetch_scenario(
            seed=[key],
            served=[key],
            tokens=known_tokens,
            expected_fetches=0,
            expect_verified=True,
            **common,
        ),
        "known kid, not seeded (the first requests fetch)": fetch_scenario(
            seed=None,
            served=[key],
            tokens=known_tokens,
            expected_fetches=1,
            expect_verified=True,
            **common,
        ),
        f"{unknown_kids} random unknown kids, seeded": fetch_scenario(
            seed=[key],
            served=[key],
            tokens=unknown,
            expected_fetches=1,
            expect_verified=False,
            **common,
        ),
        "rotated: a new kid at the server after the seed": fetch_scenario(
            seed=[key],
            served=[key, rotated],
            tokens=rotated_tokens,
            expected_fetches=1,
            expect_verified=True,
            **common,
        ),
    }


# --- the run -------------------------------------------------------------------------------


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
        from apps.accounts.tests import factories

        key = factories.SigningKey("bench-key-1")
        jwks_file = Path(scratch) / "jwks.json"
        jwks_file.write_text(json.dumps(factories.jwks_document(key)))
        env = token_env(jwks_file)
        os.environ.update(env)
        import django

        django.setup()

        tokens = [key.sign(factories.claims()) for _ in range(args.tokens)]
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
            "key": "RSA 2048, RS256, Cognito-shaped access tokens (apps/accounts/tests/factories)",
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
