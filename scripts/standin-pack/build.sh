#!/usr/bin/env bash
# Build the STAND-IN WSO2 Identity Server 5.10.0 pack (wso2is-5.10.0.zip).
#
#   scripts/standin-pack/build.sh [OUT_ZIP] [--filler-mb N] [--force]
#
# OUT_ZIP defaults to packs/wso2is-5.10.0.zip under the repo root. The zip holds
# scripts/standin-pack/pack/wso2is-5.10.0/ (minus the .keep placeholders, so
# the empty directories stay empty) plus N MB of incompressible filler in
# repository/components/plugins/standin-filler.bin, stored uncompressed, so
# upload and unpack cost what they would. N: --filler-mb, else
# $IS_STANDIN_FILLER_MB, else 50.
#
# Idempotent: OUT_ZIP.stamp records a hash of this directory's files and the
# filler size; if it matches and OUT_ZIP exists, nothing is rebuilt (--force
# rebuilds anyway). Reproducible: fixed timestamps, modes and entry order, and
# the filler is an AES-CTR keystream with a fixed key, so the same inputs give
# the same zip bytes.
#
# Needs: bash, zip, openssl, coreutils, findutils (apt-get install zip openssl).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd -P)
PACK_SRC=$SCRIPT_DIR/pack
TOP=wso2is-5.10.0
FILLER_PATH=$TOP/repository/components/plugins/standin-filler.bin
# 2020-03-10 00:00:00 UTC, about when 5.10.0 was released.
EPOCH=1583798400

die() { echo "standin-pack: $*" >&2; exit 1; }
note() { echo "standin-pack: $*" >&2; }

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

out=""
filler_mb=${IS_STANDIN_FILLER_MB:-50}
force=0
while (($#)); do
  case $1 in
    --filler-mb) (($# >= 2)) || die "--filler-mb needs a number"; filler_mb=$2; shift 2 ;;
    --filler-mb=*) filler_mb=${1#*=}; shift ;;
    --force) force=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z $out ]] || die "more than one OUT_ZIP given"; out=$1; shift ;;
  esac
done
[[ $filler_mb =~ ^[0-9]+$ ]] || die "--filler-mb / IS_STANDIN_FILLER_MB must be a whole number of MB, not '$filler_mb'"
filler_mb=$((10#$filler_mb))
if [[ -z $out ]]; then
  out=$REPO/packs/wso2is-5.10.0.zip
elif [[ $out != /* ]]; then
  out=$PWD/$out
fi

for c in zip openssl sha256sum find sort; do
  if ! command -v "$c" > /dev/null; then
    case $c in
      zip) die "'zip' is not installed (apt-get install zip)" ;;
      openssl) die "'openssl' is not installed (apt-get install openssl)" ;;
      *) die "'$c' is not installed (apt-get install coreutils findutils)" ;;
    esac
  fi
done

# The pack's files, relative to PACK_SRC, in a fixed order. Anything a server
# run from the source tree would leave behind is not part of the pack.
pack_files() {
  (cd "$PACK_SRC" && find "$TOP" \
    \( -name __pycache__ -o -name '*.pyc' -o -path "$TOP/wso2carbon.pid" \
       -o -path "$TOP/repository/logs/*.log" \
       -o -path "$TOP/repository/resources/security/standin-server.*" \) -prune \
    -o -print | LC_ALL=C sort)
}

# What the zip is made from: this directory's own files (names, modes and
# contents) and the filler size. Paths are relative, so the checkout's location
# does not matter.
inputs_hash() {
  {
    echo "filler_mb=$filler_mb"
    (cd "$SCRIPT_DIR" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' \
      ! -path "./pack/$TOP/wso2carbon.pid" ! -path "./pack/$TOP/repository/logs/*.log" \
      ! -path "./pack/$TOP/repository/resources/security/standin-server.*" -print0 \
      | LC_ALL=C sort -z | xargs -0 -r sh -c 'for f; do printf "%s %s\n" "$(stat -c %a "$f")" "$f"; sha256sum < "$f"; done' sh)
  } | sha256sum | cut -d' ' -f1
}

stamp=$out.stamp
want=$(inputs_hash)
if ((!force)) && [[ -f $out && -f $stamp && $(cat "$stamp") == "$want" ]]; then
  note "up to date: $out (filler ${filler_mb} MB)"
  echo "$out"
  exit 0
fi

mkdir -p "$(dirname "$out")"
start=$(date +%s%N)
work=$(mktemp -d "$(dirname "$out")/.standin-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Stage a clean copy with normalised modes and times.
stage=$work/stage
mkdir -p "$stage"
pack_files > "$work/list"
while IFS= read -r rel; do
  if [[ -d $PACK_SRC/$rel ]]; then
    mkdir -p "$stage/$rel"
  elif [[ $(basename "$rel") != .keep ]]; then
    cp "$PACK_SRC/$rel" "$stage/$rel"
  fi
done < "$work/list"
if ((filler_mb > 0)); then
  # Incompressible and deterministic: AES-128-CTR keystream over zeros.
  head -c $((filler_mb * 1048576)) /dev/zero \
    | openssl enc -aes-128-ctr -nosalt -K 69732d70726f766973696f6e2d737461 -iv 00000000000000000000000000000000 \
    > "$stage/$FILLER_PATH"
  [[ $(stat -c %s "$stage/$FILLER_PATH") == $((filler_mb * 1048576)) ]] || die "filler came out the wrong size"
fi
(
  cd "$stage"
  find "$TOP" -type d -exec chmod 755 {} +
  find "$TOP" -type f -exec chmod 644 {} +
  find "$TOP" -type f \( -name '*.sh' -o -name '*.py' \) -exec chmod 755 {} +
  find "$TOP" -exec touch -h -d "@$EPOCH" {} +
  # -X: no uid/gid or extra timestamps; -n .bin: store the filler as is (not
  # with -9, which overrides -n);
  # TZ=UTC because zip records local time.
  find "$TOP" | LC_ALL=C sort | TZ=UTC zip -q -X -n .bin "$work/pack.zip" -@
)

mv -f "$work/pack.zip" "$out"
echo "$want" > "$stamp.tmp.$$"
mv -f "$stamp.tmp.$$" "$stamp"
ms=$((($(date +%s%N) - start) / 1000000))
note "built $out ($(stat -c %s "$out") bytes, filler ${filler_mb} MB) in ${ms} ms"
echo "$out"
