"""Pipeline specs: read them the way pachd does, check them the way pachd does, write them for a cluster.

pachd parses a `CreatePipelineRequest` with protobuf's JSON rules: snake_case or camelCase keys,
integers quoted or not. Pachyderm's published JSON schema, which an emitted spec must pass, takes
camelCase keys and real integers only. So `normalize` (read.py) turns every spelling pachd accepts
into the schema's and checks the spec as pachd's `ValidatePipelineRequest`/`validateInput` do
(check.py); `PipelineSpec.of` (defaults.py) fills in what pachd's `setPipelineDefaults` would,
once, kept apart so that emitted specs stay minimal; `stored` checks a stored spec again before it
runs; `emit` (schema.py) writes a spec in the order Pachyderm's own examples use.
"""

from pachlite.pps.spec.defaults import (
    DEFAULT_BRANCH,
    DEFAULT_IMAGE,
    DEFAULT_PROJECT,
    PipelineSpec,
    parse_duration,
    with_defaults,
)
from pachlite.pps.spec.files import load_specs
from pachlite.pps.spec.read import normalize, stored, upgrade_1x
from pachlite.pps.spec.schema import emit, validate_schema
from pachlite.pps.spec.tree import dag_order, input_repos, pfs_inputs, pipeline_key, project

__all__ = ["DEFAULT_BRANCH", "DEFAULT_IMAGE", "DEFAULT_PROJECT", "PipelineSpec", "dag_order", "emit",
           "input_repos", "load_specs", "normalize", "parse_duration", "pfs_inputs", "pipeline_key",
           "project", "stored",
           "upgrade_1x", "validate_schema", "with_defaults"]
