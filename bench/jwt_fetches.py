"""How often verification fetches the JWKS: threads verify while a loopback JWKS server counts
its requests, each scenario on a fresh process-wide cache."""

import json
import random
import string
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.jwt_timing import ACCESS
from deploy.tools.harness import fake_cognito


def random_kid(rng):
    return "".join(rng.choices(string.ascii_letters + string.digits, k=16))


def fetch_scenario(
    *, seed, served, tokens, expected_fetches, expect_verified, threads, runs, scratch
):
    """Verify ``tokens`` from ``threads`` threads, ``runs`` times, each on a fresh cache."""
    from django.test import override_settings

    from apps.accounts.tokens import TokenError, verify_token

    seed_file = None
    if seed:
        seed_file = Path(scratch) / f"seed-{'-'.join(key.kid for key in seed)}.json"
        seed_file.write_text(json.dumps(fake_cognito.jwks_document(*seed)))

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
        with fake_cognito.JWKSServer(*served) as server:
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

    rotated = fake_cognito.SigningKey("bench-rotated-key")
    rng = random.Random(0)  # noqa: S311 - kids nobody knows, not secrets
    unknown = [
        key.sign(fake_cognito.claims(), headers={"kid": random_kid(rng)})
        for _ in range(unknown_kids)
    ]
    rotated_tokens = [rotated.sign(fake_cognito.claims()) for _ in known_tokens]
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
