#!/usr/bin/env bash
# Regenerate the committed Go code of every .proto file in the repository.
# Installs protoc (Debian's protobuf-compiler) and protoc-gen-go (pinned to
# the google.golang.org/protobuf version in go.mod) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null; then
  echo "[generate] installing protoc (protobuf-compiler)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler
fi

gobin=$PWD/bin/tools
version=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
if [[ ! -x $gobin/protoc-gen-go ]] || [[ $(cat "$gobin/.protoc-gen-go-version" 2>/dev/null) != "$version" ]]; then
  echo "[generate] installing protoc-gen-go $version" >&2
  GOBIN=$gobin go install "google.golang.org/protobuf/cmd/protoc-gen-go@$version"
  echo "$version" >"$gobin/.protoc-gen-go-version"
fi

mapfile -t protos < <(git ls-files '*.proto'; git ls-files --others --exclude-standard '*.proto')
if ((${#protos[@]} == 0)); then
  echo "[generate] no .proto files" >&2
  exit 0
fi
PATH=$gobin:$PATH protoc --proto_path=. --go_out=. --go_opt=paths=source_relative "${protos[@]}"
echo "[generate] generated ${#protos[@]} file(s): ${protos[*]}" >&2

# The TypeScript SDK's protobuf code (committed too), when its tools are
# installed (npm ci in sdk/ts).
if [[ -x sdk/ts/node_modules/.bin/protoc-gen-es ]]; then
  (cd sdk/ts && rm -f src/gen/wire_pb.ts && npm run --silent generate)
  echo "[generate] generated sdk/ts/src/gen/wire_pb.ts" >&2
else
  echo "[generate] sdk/ts: protoc-gen-es not installed (npm ci in sdk/ts); TypeScript code not regenerated" >&2
fi

# The HTTP API's OpenAPI description, built from its route table, with
# the doc comments of its types (read from the sources first, for the
# binary embeds them). Written only once it built: a failed build leaves
# the committed file as it was.
go run ./cluster/admin/gen
echo "[generate] generated cluster/admin/schemadocs.json" >&2
go run ./cmd/switchboard openapi >docs/openapi.json.new
mv docs/openapi.json.new docs/openapi.json
echo "[generate] generated docs/openapi.json" >&2
