#!/usr/bin/env bash
# Regenerates the *_pb2.py / *_pb2.pyi modules from the .proto subset in k8s/ (`make proto`).
# Needs grpcio-tools (the `dev` extra); its protoc must not be newer than the `protobuf`
# runtime the images install, or the generated modules refuse to import.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
cd "$repo"
out=controlplane/apiserver/protobuf/k8s
rm -f "$out"/*_pb2.py "$out"/*_pb2.pyi
"$python" -m grpc_tools.protoc -I . --python_out=. --pyi_out=. "$out"/*.proto
protoc_version="$("$python" -m grpc_tools.protoc --version)"
for f in "$out"/*_pb2.py "$out"/*_pb2.pyi; do
  { echo "# Generated from $(basename "${f%_pb2.py*}").proto by controlplane/apiserver/protobuf/regenerate.sh"
    echo "# (grpc_tools.protoc, $protoc_version). Do not edit: edit the .proto and rerun it."
    cat "$f"; } > "$f.tmp" && mv "$f.tmp" "$f"
done
echo "regenerated $(ls "$out"/*_pb2.py | wc -l) modules with $protoc_version"
