"""What one JWT verification costs, ours vs PyJWT + cryptography: per call in this process,
and import + first verification in a fresh interpreter (bench/jwt_bench.py runs both)."""

import json
import statistics
import time

from bench import pyjwt_baseline
from bench.stats import median_p95_us
from deploy.tools.harness.processes import run_python, subprocess_env

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
