#!/usr/bin/env bash
# Build the HTML docs with every warning as an error (gallery examples executed).
# Usage: doc/build.sh [extra sphinx-build options]; output in doc/_build/html.
# Needs the docs extra: pip install -e ".[docs]".
set -euo pipefail
cd "$(dirname "$0")"
rm -rf _build auto_examples generated
export MPLBACKEND=Agg HF_HUB_OFFLINE=1 PYTHONHASHSEED=0
python -m sphinx -W --keep-going -b html -d _build/doctrees . _build/html "$@"
echo "docs built in $(pwd)/_build/html/index.html"
