#!/usr/bin/env bash
# Puts the shipped feature network (samples/models/feature_net/, made by samples/pretrain_sources.sh)
# into the evaluation cache under its own key (dataset hash + recipe), where every FID/KID evaluation
# looks for it; a net already there is kept. Without it the first evaluation trains one (~5 min).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/coalesce"
mkdir -p "$CACHE"
for net in samples/models/feature_net/*.coalesce; do
  [ -e "$net" ] || continue
  [ -e "$CACHE/$(basename "$net")" ] || cp "$net" "$CACHE/"
done
