#!/usr/bin/env bash
# Regenerates the *_pb2.py / *_pb2.pyi modules from the .proto subsets in k8s/ (Kubernetes'
# objects) and gnostic/ (the OpenAPI v2 document) (`make proto`).
# Needs grpcio-tools (the `dev` extra); its protoc must not be newer than the `protobuf`
# runtime the images install, or the generated modules refuse to import.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
cd "$repo"
base=controlplane/apiserver/protobuf
rm -f "$base"/{k8s,gnostic}/*_pb2.py "$base"/{k8s,gnostic}/*_pb2.pyi
# grpc_tools ships google/protobuf/*.proto (any.proto) under its own include directory.
include="$("$python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
"$python" -m grpc_tools.protoc -I . -I "$include" --python_out=. --pyi_out=. \
  "$base"/k8s/*.proto "$base"/gnostic/*.proto
protoc_version="$("$python" -m grpc_tools.protoc --version)"
for f in "$base"/{k8s,gnostic}/*_pb2.py "$base"/{k8s,gnostic}/*_pb2.pyi; do
  { echo "# Generated from $(basename "${f%_pb2.py*}").proto by controlplane/apiserver/protobuf/regenerate.sh"
    echo "# (grpc_tools.protoc, $protoc_version). Do not edit: edit the .proto and rerun it."
    cat "$f"; } > "$f.tmp" && mv "$f.tmp" "$f"
done
echo "regenerated $(ls "$base"/{k8s,gnostic}/*_pb2.py | wc -l) modules with $protoc_version"
