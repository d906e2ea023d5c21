"""``zappa`` as the deploy runs it: ``python -m deploy.tools.deploy.zappa_cli <zappa args>``.

One change to Zappa: the alias its ``snap_start`` machinery keeps is our ``live`` alias, not
its own ``snapstart``. With the stage's ``"snap_start": "PublishedVersions"``, Zappa then
publishes a version on every deploy, waits for its snapshot, creates or moves ``live`` to it,
and points API Gateway's integration (v1 and v2) and its invoke permission at it; on the
first deploy the alias exists before the API's stack asks for its permission, which an alias
made after ``zappa deploy`` could not give. The invokers Zappa would target at ``$LATEST``
(schedule rules, S3 notifications) are ours instead (``versions``): the settings file the
deploy gives Zappa has no ``events``.
"""

import sys

from .versions import LIVE


def main(argv):
    from zappa import cli, core

    # Zappa reads the name at call time from both modules (cli imports it by name).
    for module in (core, cli):
        if getattr(module, "SNAPSTART_LAMBDA_ALIAS", None) != "snapstart":
            raise SystemExit(
                f"{module.__name__}.SNAPSTART_LAMBDA_ALIAS is not Zappa's 'snapstart': this "
                "Zappa release keeps SnapStart's alias differently; check "
                "deploy/tools/deploy/zappa_cli.py against it before deploying."
            )
        module.SNAPSTART_LAMBDA_ALIAS = LIVE
    sys.argv = ["zappa", *argv]
    cli.handle()


if __name__ == "__main__":
    main(sys.argv[1:])
