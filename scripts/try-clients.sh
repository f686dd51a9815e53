#!/usr/bin/env bash
# Builds unmodified Mainsail and Fluidd from git checkouts and walks through them against Brim with
# test/clients.test.ts (headless Chromium, the virtual printer). Opt-in: CI cannot reach GitHub.
#
#   scripts/try-clients.sh --mainsail ~/src/mainsail --fluidd ~/src/fluidd [--plugin-vue2 ~/src/vite-plugin-vue2]
#
# Check each client out at the release to try first (git checkout v2.18.2). Either may be left out.
# Their sources stay untouched; the builds land in their own dist/ folders, and screenshots of each step
# in $TMPDIR/brim-client-screenshots (or BRIM_CLIENT_SCREENSHOTS).
#
# Two packages their lockfiles pin are gone from the npm registry (seen 2026-12 with Mainsail v2.18.2
# and Fluidd v1.37.4):
#   - @pedrolamas/plugin-vue2 2.4.1, the Vite 8 plugin both build with. With --plugin-vue2 (a checkout
#     of github.com/pedrolamas/vite-plugin-vue2 at v2.4.1) it is built locally, and for the install only
#     the lockfile entry points at that tarball (Fluidd's pnpm lockfile through a one-file registry on
#     127.0.0.1); the lockfiles are restored afterwards.
#   - typescript-native-bridge 6.0.3-bridge.7 (Fluidd's type checker, not used by the build): Fluidd is
#     installed with the next published bridge release instead.
set -euo pipefail

BRIM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAINSAIL="" FLUIDD="" PLUGIN_VUE2=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mainsail) MAINSAIL="$(cd "$2" && pwd)"; shift 2 ;;
    --fluidd) FLUIDD="$(cd "$2" && pwd)"; shift 2 ;;
    --plugin-vue2) PLUGIN_VUE2="$(cd "$2" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "try-clients.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$MAINSAIL" ] && [ -z "$FLUIDD" ]; then
  echo "try-clients.sh: give --mainsail DIR and/or --fluidd DIR (see --help)" >&2
  exit 2
fi

WORK="$(mktemp -d)"
REGISTRY_PID=""
RESTORE=()
cleanup() {
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null || true
  for entry in "${RESTORE[@]}"; do git -C "${entry%%:*}" checkout -- "${entry#*:}" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

package_registry_has() { npm view "$1" version >/dev/null 2>&1; }

# Builds @pedrolamas/plugin-vue2 when the registry lacks it; prints the tarball path, or nothing.
PLUGIN_TGZ=""
plugin_vue2() {
  if [ -n "$PLUGIN_TGZ" ] || package_registry_has '@pedrolamas/plugin-vue2@2.4.1'; then return; fi
  if [ -z "$PLUGIN_VUE2" ]; then
    echo "try-clients.sh: @pedrolamas/plugin-vue2@2.4.1 is not on the registry; pass --plugin-vue2 DIR" >&2
    exit 1
  fi
  echo "== building @pedrolamas/plugin-vue2 from $PLUGIN_VUE2"
  rm -rf "$WORK/plugin-vue2"
  git clone -q "$PLUGIN_VUE2" "$WORK/plugin-vue2"
  # Its test browser (puppeteer) and changelog tool are not needed to build it.
  (cd "$WORK/plugin-vue2" &&
    node -e 'const f="package.json",p=require("./"+f);for(const n of ["puppeteer","conventional-changelog-cli"])delete p.devDependencies[n];require("fs").writeFileSync(f,JSON.stringify(p,null,2))' &&
    npm install --no-audit --no-fund --ignore-scripts >/dev/null &&
    npm run build >/dev/null &&
    npm pack --pack-destination "$WORK" >/dev/null)
  PLUGIN_TGZ="$WORK/pedrolamas-plugin-vue2-2.4.1.tgz"
  mkdir -p "$WORK/registry/@pedrolamas/plugin-vue2/-"
  cp "$PLUGIN_TGZ" "$WORK/registry/@pedrolamas/plugin-vue2/-/plugin-vue2-2.4.1.tgz"
}

integrity_of() { node -e 'console.log("sha512-"+require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$1"; }

if [ -n "$MAINSAIL" ]; then
  echo "== Mainsail $(git -C "$MAINSAIL" describe --tags --always)"
  plugin_vue2
  if [ -n "$PLUGIN_TGZ" ]; then
    RESTORE+=("$MAINSAIL:package-lock.json")
    node -e '
      const [lock, tgz, integrity] = process.argv.slice(1), fs = require("fs");
      const json = JSON.parse(fs.readFileSync(lock, "utf8"));
      Object.assign(json.packages["node_modules/@pedrolamas/plugin-vue2"], { resolved: `file:${tgz}`, integrity });
      fs.writeFileSync(lock, JSON.stringify(json, null, 4) + "\n");
    ' "$MAINSAIL/package-lock.json" "$PLUGIN_TGZ" "$(integrity_of "$PLUGIN_TGZ")"
  fi
  # Cypress (its end-to-end tests) downloads a browser of its own, which the build does not need.
  (cd "$MAINSAIL" && CYPRESS_INSTALL_BINARY=0 npm ci --no-audit --no-fund && npx vite build)
  export BRIM_MAINSAIL_DIR="$MAINSAIL/dist"
fi

if [ -n "$FLUIDD" ]; then
  echo "== Fluidd $(git -C "$FLUIDD" describe --tags --always)"
  PNPM=(npx --yes pnpm@10)
  PNPM_ARGS=(--config.engine-strict=false --config.manage-package-manager-versions=false)
  plugin_vue2
  if [ -n "$PLUGIN_TGZ" ]; then
    RESTORE+=("$FLUIDD:pnpm-lock.yaml")
    sed -i "s#^\(    resolution: {integrity: \)sha512-pVyvWEbze65/XHUoKvVxswwRtS0yFqM9ZCD16RQTTWHqqNGhiG0yooeYYEOiKqPdg8dm8pPBy+KqF64ol6a9+A==}#\1$(integrity_of "$PLUGIN_TGZ")}#" "$FLUIDD/pnpm-lock.yaml"
    REGISTRY_PORT=$((20000 + RANDOM % 20000))
    (cd "$WORK/registry" && exec python3 -m http.server "$REGISTRY_PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
    REGISTRY_PID=$!
    PNPM_ARGS+=("--config.@pedrolamas:registry=http://127.0.0.1:$REGISTRY_PORT/")
  fi
  BRIDGE="$(sed -n 's/^ *typescript: npm:typescript-native-bridge@\(.*\)$/\1/p' "$FLUIDD/pnpm-workspace.yaml")"
  if [ -n "$BRIDGE" ] && ! package_registry_has "typescript-native-bridge@$BRIDGE"; then
    NEXT="$(npm view typescript-native-bridge versions --json | node -e '
      const want = process.argv[1], all = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const base = want.replace(/bridge\.\d+/, ""); const n = Number(/bridge\.(\d+)/.exec(want)[1]);
      const later = all.filter((v) => v.replace(/bridge\.\d+/, "") === base && Number(/bridge\.(\d+)/.exec(v)?.[1]) > n);
      console.log(later[0] ?? "");' "$BRIDGE")"
    [ -z "$NEXT" ] && { echo "try-clients.sh: typescript-native-bridge@$BRIDGE is gone and has no successor" >&2; exit 1; }
    echo "   typescript-native-bridge@$BRIDGE is gone from the registry; using $NEXT"
    RESTORE+=("$FLUIDD:pnpm-workspace.yaml" "$FLUIDD:package.json" "$FLUIDD:pnpm-lock.yaml")
    sed -i "s/typescript-native-bridge@$BRIDGE/typescript-native-bridge@$NEXT/" "$FLUIDD/pnpm-workspace.yaml" "$FLUIDD/package.json"
    PNPM_ARGS+=(--no-frozen-lockfile)
  else
    PNPM_ARGS+=(--frozen-lockfile)
  fi
  (cd "$FLUIDD" && "${PNPM[@]}" install "${PNPM_ARGS[@]}" && npx vite build)
  export BRIM_FLUIDD_DIR="$FLUIDD/dist"
fi

cd "$BRIM_DIR"
export BRIM_CLIENT_SCREENSHOTS="${BRIM_CLIENT_SCREENSHOTS:-${TMPDIR:-/tmp}/brim-client-screenshots}"
npx vitest run test/clients.test.ts
echo "screenshots: $BRIM_CLIENT_SCREENSHOTS"
