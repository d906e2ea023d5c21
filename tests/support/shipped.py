"""What must never ship: the developer tools and their libraries, in the zip or the image.

Paths are relative to the zip root or to the image's app directory and site-packages.
"""

import re

# The tools room, the package build, the test suite and benchmarks; developer-only
# distributions (moto and the local Lambda's runtime interface client, the cost model's
# matplotlib) and the cost model's price list.
FORBIDDEN = re.compile(
    r"^(deploy/tools/|deploy/lambda/packager/|deploy/lambda/package\.py|tests/|bench/"
    r"|(moto|awslambdaric|matplotlib|mpl_toolkits|pytest|_pytest|playwright|cfnlint"
    r"|policy_sentry|policyuniverse|parliament)[/.-]"
    r"|.*prices\.json$)"
)


def developer_files(names):
    """The entries of ``names`` that belong to the developer tools (sorted)."""
    return sorted(name for name in names if FORBIDDEN.match(name))
