#!/usr/bin/env bash
# Compares profefe's OTLP profiles messages (src/collector/proto/otlp_profiles.proto)
# with an opentelemetry-proto checkout, field by field: every field profefe
# declares must exist upstream with the same name, number, label and type.
# Run it when a new opentelemetry-proto release comes out (docs/ingest.md).
#
#   scripts/otlp-proto-check.sh /path/to/opentelemetry-proto
#
# Needs protoc-c (protobuf-c-compiler) and python3; not part of the suite (the
# upstream files are not in this repository).
set -euo pipefail
UP=${1:?usage: $0 OPENTELEMETRY-PROTO-DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/ours" "$T/up"
protoc-c --c_out="$T/ours" -I"$ROOT/src/collector/proto" "$ROOT/src/collector/proto/otlp_profiles.proto"
protoc-c --c_out="$T/up" -I"$UP" \
    "$UP/opentelemetry/proto/common/v1/common.proto" \
    "$UP/opentelemetry/proto/resource/v1/resource.proto" \
    "$UP/opentelemetry/proto/profiles/v1development/profiles.proto" \
    "$UP/opentelemetry/proto/collector/profiles/v1development/profiles_service.proto"
python3 - "$T" <<'PY'
import glob, re, sys
def fields(files):
    out = set()
    for f in files:
        s = open(f).read()
        for m in re.finditer(r'static const ProtobufCFieldDescriptor (\w+?)__field_descriptors\[\d+\] =\s*\{(.*?)\n\};', s, re.S):
            msg = m.group(1).split('__')[-1]
            for fm in re.finditer(r'\{\s*"(\w+)",\s*(\d+),\s*(PROTOBUF_C_LABEL_\w+),\s*(PROTOBUF_C_TYPE_\w+)', m.group(2)):
                out.add((msg,) + fm.groups())
    return out
t = sys.argv[1]
ours = {f for f in fields(glob.glob(t + '/ours/*.pb-c.c')) if f[0] != 'status'}   # google.rpc.Status is not OTLP's
up = fields(glob.glob(t + '/up/**/*.pb-c.c', recursive=True))
bad = sorted(ours - up)
for b in bad:
    print('differs or missing upstream: message %s field %s = %s (%s, %s)' % b)
print('%d fields checked, %d differ' % (len(ours), len(bad)))
sys.exit(1 if bad else 0)
PY
