#!/usr/bin/env bash
# `make bench`: the benchmark at a million customers (BENCH_SCALE=1.0; smaller for a quick
# look). Sets up what is missing, starts PostgreSQL + Redis, loads the data set into the
# database crm_bench once (bench/generate.py), then measures (bench/run.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
source scripts/services.sh
trap services_stop EXIT
services_start
.venv/bin/python -m bench.run "$@"
