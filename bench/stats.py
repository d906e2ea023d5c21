"""How per-call timings are summarized in the results, the same way by every benchmark."""

import statistics


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median_p95_us(samples):
    """Median and p95 of per-call times in microseconds, as the results record them."""
    return {
        "median_us": round(statistics.median(samples), 1),
        "p95_us": round(percentile(samples, 0.95), 1),
    }
