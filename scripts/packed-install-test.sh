#!/usr/bin/env bash
# Packs cacheme the way `npm publish` would (root package + the linux-x64-gnu platform package),
# installs both tarballs into a fresh project, and checks what a user gets: require, import, strict
# TypeScript types, and — without the platform package — the loader's clear error.
# Needs `npm run build` first (native/ and dist/ are what gets packed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
triple="linux-x64-gnu"
work="$(mktemp -d)"
trap 'rm -rf "$work"; rm -f "$root/npm/$triple/cacheme.$triple.node"' EXIT

fail() { echo "packed-install: FAIL: $*" >&2; exit 1; }

cp "native/cacheme.$triple.node" "npm/$triple/"
platform_tgz="$(cd "npm/$triple" && npm pack --silent --pack-destination "$work")"
root_tgz="$(npm pack --silent --pack-destination "$work")"

# As `napi pre-publish` does at release: list every platform package as an optional dependency
# pinned to the root's version (the repository's package.json leaves them out so that npm ci works
# before they are published).
mkdir "$work/stage"
tar -xzf "$work/$root_tgz" -C "$work/stage"
node -e '
  const fs = require("fs")
  const file = process.argv[1]
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
  const triples = { "x86_64-unknown-linux-gnu": "linux-x64-gnu", "aarch64-unknown-linux-gnu": "linux-arm64-gnu",
    "x86_64-unknown-linux-musl": "linux-x64-musl", "aarch64-unknown-linux-musl": "linux-arm64-musl",
    "x86_64-apple-darwin": "darwin-x64", "aarch64-apple-darwin": "darwin-arm64", "x86_64-pc-windows-msvc": "win32-x64-msvc" }
  pkg.optionalDependencies = Object.fromEntries(pkg.napi.targets.map((t) => [`cacheme-${triples[t]}`, pkg.version]))
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2))
' "$work/stage/package/package.json"
tar -czf "$work/$root_tgz" -C "$work/stage" package
grep -q '"cacheme-linux-x64-gnu": "0.1.0"' "$work/stage/package/package.json" || fail "optionalDependencies not pinned"

contents="$(tar -tzf "$work/$root_tgz")"
if grep -qE '\.node$' <<<"$contents"; then fail "root tarball ships a .node binary"; fi
if grep -qE '^package/(src-rs|__test__|benchmark)/' <<<"$contents"; then
  fail "root tarball ships sources, tests or benchmarks"
fi
grep -q '^package/dist/lib/index.js$' <<<"$contents" || fail "root tarball lacks dist/lib/index.js"
grep -q '^package/native/binding.js$' <<<"$contents" || fail "root tarball lacks the loader"
echo "root tarball: $root_tgz, $(du -k "$work/$root_tgz" | cut -f1) KiB, $(wc -l <<<"$contents") files"
echo "platform tarball: $platform_tgz, $(du -k "$work/$platform_tgz" | cut -f1) KiB"

# A user project with both tarballs.
app="$work/app"
mkdir "$app"
cd "$app"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$work/$root_tgz" "$work/$platform_tgz"
node -e "
  const c = require('cacheme')
  class UserNode extends c.Node {
    static meta = { version: 'v1', caches: [new c.Cache({ storage: 'local', ttl: 1000 })] }
    constructor(id) { super(); this.id = id }
    key() { return 'user:' + this.id }
    async load() { return { id: this.id } }
  }
  ;(async () => {
    await c.registerStorage('local', new c.Storage({ url: 'local://tlfu', size: 10 }))
    const user = await c.get(new UserNode(7))
    if (user.id !== 7 || c.stats(UserNode).loadCount !== 1) throw new Error('require: get does not work')
    // The exporters' packages are optional peers: not installed here, never loaded, and the
    // integrations that need them say what to install.
    for (const peer of ['@opentelemetry/api', 'prom-client']) {
      let present = true
      try { require.resolve(peer) } catch { present = false }
      if (present) throw new Error('optional peer ' + peer + ' was installed with cacheme')
    }
    if (Object.keys(require.cache).some((f) => /opentelemetry|prom-client/.test(f))) throw new Error('an exporter package was loaded')
    for (const call of [() => c.instrumentOpenTelemetry(), () => c.registerPrometheus()]) {
      let code
      try { call() } catch (e) { code = e.code }
      if (code !== 'CACHEME_INVALID_ARGUMENT') throw new Error('an integration without its package: ' + code)
    }
    await c.close()
    console.log('require(\"cacheme\") + get(node): ok; optional exporters absent and not loaded')
  })().catch((e) => { console.error(e); process.exit(1) })
"
node --input-type=module -e "
  const c = await import('cacheme')
  if (typeof c.LocalStore !== 'function' || typeof c.BloomFilter !== 'function') throw new Error('import: exports missing')
  console.log('import(\"cacheme\"): ok')
"
cp "$root/scripts/packed-install-check.ts" check.ts
node "$root/node_modules/typescript/bin/tsc" --noEmit --strict --module node16 --moduleResolution node16 \
  --types node --typeRoots "$root/node_modules/@types" check.ts
echo "tsc --noEmit --strict: ok (and the @ts-expect-error line is an error)"

# Without the platform package (as with --omit=optional on an unsupported platform): a clear error.
bare="$work/bare"
mkdir "$bare"
cd "$bare"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent --omit=optional "$work/$root_tgz"
if out="$(node -e "require('cacheme')" 2>&1)"; then fail "require succeeded without any native binary"; fi
grep -q "no native binary for $triple" <<<"$out" || fail "unclear loader error: $out"
grep -q "npm run build:native" <<<"$out" || fail "loader error does not say how to build from source"
echo "missing binary gives the clear loader error: ok"
echo "packed-install: 4 passed, 0 failed"
