"""deploy/aws/amphibian.yaml as data, decoded the way cfn-lint reads it."""

from cfnlint.decode import decode_str

from deploy.tools.harness.processes import ROOT

TEMPLATE = ROOT / "deploy" / "aws" / "amphibian.yaml"


def load_template():
    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors, errors
    return template
