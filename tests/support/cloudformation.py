"""deploy/aws/amphibian.yaml and its stages' parameter files as data, decoded the way
cfn-lint (and so CloudFormation) reads them."""

import json

from cfnlint.decode import decode_str

from deploy.tools.harness.processes import ROOT

TEMPLATE = ROOT / "deploy" / "aws" / "amphibian.yaml"
PARAMETER_FILES = ROOT / "deploy" / "aws" / "parameters"


def load_template():
    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors, errors
    return template


def stage_parameter_files():
    """``{stage: path}`` of every deploy/aws/parameters/<stage>.json."""
    return {path.stem: path for path in sorted(PARAMETER_FILES.glob("*.json"))}


def load_parameters(stage):
    """The stage's ``{ParameterName: value}`` (what the deploy passes to CloudFormation)."""
    return json.loads((PARAMETER_FILES / f"{stage}.json").read_text())
