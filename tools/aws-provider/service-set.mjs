#!/usr/bin/env node
// The AWS provider's service set, computed from the components and the provider's own generated
// registrations (never a hand-kept list). Used by scripts/build-aws-provider.sh; no dependencies.
//
//   node service-set.mjs types <repo>                 resource/data/ephemeral types of components/*/main.tf.json
//   node service-set.mjs index <provider-src> <out>   index of the provider source (JSON, see buildIndex)
//   node service-set.mjs roots <index> <types-file>   service packages that register those types
//   node service-set.mjs close <provider-src> <index> <pkg>...
//        trims the two generated files of the (writable) provider copy to a closed service set and
//        prints it: see closeSet.
//
// Why a closure: a package registered for our resource types calls other services' clients at run
// time (aws_s3_bucket reads S3 Control tags, the account/organizations packages are called by
// others). `conns.client[T]` looks the service package up BY NAME in the registered map and panics
// "unknown service package: <name>" when it is missing. Every such lookup goes through a getter of
// internal/conns/awsclient_gen.go (or awsclient.go, which calls them), so trimming the getters to
// the ones the compiled code calls turns each missing one into a compile error, and registering the
// package behind every kept getter makes each run-time lookup succeed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MODULE = 'github.com/hashicorp/terraform-provider-aws';
const SP_LIST = 'internal/provider/sdkv2/service_packages_gen.go';
const GETTERS = 'internal/conns/awsclient_gen.go';
const CONNS_HAND = 'internal/conns/awsclient.go';

function die(msg) {
  process.stderr.write(`[service-set] ERROR: ${msg}\n`);
  process.exit(1);
}

/** Top-level blocks of a Go file that start with `func ` at column 0 and end at the next `}` line. */
function funcBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('func ')) continue;
    let j = i;
    while (j < lines.length && lines[j] !== '}') j++;
    blocks.push({ start: i, end: j, head: lines[i], body: lines.slice(i, j + 1).join('\n') });
    i = j;
  }
  return blocks;
}

// ---- types ------------------------------------------------------------------------------------
const KINDS = ['resource', 'data', 'ephemeral'];

function componentTypes(repo) {
  const dir = join(repo, 'components');
  const comps = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'shared' && existsSync(join(dir, e.name, 'index.ts')))
    .map((e) => e.name)
    .sort();
  if (comps.length === 0) die(`no component folder (components/<name>/index.ts) under ${dir}`);
  const missing = comps.filter((c) => !existsSync(join(dir, c, 'main.tf.json')));
  if (missing.length > 0) {
    die(
      `components/${missing.join('/main.tf.json, components/')}/main.tf.json missing: ` +
        "run `npm run synth` first (the service set is computed from every component's synthesized types)",
    );
  }
  const out = new Set();
  for (const c of comps) {
    const j = JSON.parse(readFileSync(join(dir, c, 'main.tf.json'), 'utf8'));
    // The provider of a block is its `provider` meta-argument (local name[.alias]) or, without
    // one, the type's prefix (Terraform's rule). Keep the blocks whose local name is sourced from
    // hashicorp/aws; skip the built-in `terraform` provider (terraform_data).
    const aws = new Set(
      Object.entries(j.terraform?.required_providers ?? {})
        .filter(([, v]) =>
          /^(?:(?:registry\.terraform\.io|registry\.opentofu\.org)\/)?(?:hashicorp\/)?aws$/.test(v?.source ?? ''),
        )
        .map(([k]) => k),
    );
    for (const kind of KINDS) {
      for (const [type, blocks] of Object.entries(j[kind] ?? {})) {
        for (const [name, block] of Object.entries(blocks)) {
          const local = (block?.provider ?? type.split('_')[0]).split('.')[0];
          if (aws.has(local)) out.add(`${kind} ${type}`);
          else if (local !== 'terraform')
            die(
              `components/${c}: ${kind} ${type}.${name} uses provider "${local}", which is not hashicorp/aws: only the AWS provider is built here`,
            );
        }
      }
    }
  }
  return [...out].sort();
}

// ---- index ------------------------------------------------------------------------------------
/**
 * {
 *   types:    { resource: {aws_x: pkg}, data: {...}, ephemeral: {...} }   from each service_package_gen.go
 *   spName:   { pkg: "names.X" | "\"literal\"" }                       its ServicePackageName()
 *   getters:  { S3Client: "names.S3", ... }                            awsclient_gen.go (+ awsclient.go)
 *   generated:{ S3Client: true }                                       getters of awsclient_gen.go (trimmable)
 * }
 */
function buildIndex(src) {
  const types = { resource: {}, data: {}, ephemeral: {} };
  const spName = {};
  const svcDir = join(src, 'internal/service');
  for (const pkg of readdirSync(svcDir).sort()) {
    const f = join(svcDir, pkg, 'service_package_gen.go');
    if (!existsSync(f)) continue;
    for (const b of funcBlocks(readFileSync(f, 'utf8'))) {
      const m = /^func \(p \*servicePackage\) (\w+)\(/.exec(b.head);
      if (!m) continue;
      const fn = m[1];
      if (fn === 'ServicePackageName') {
        const r = /return (names\.\w+|"[^"]+")/.exec(b.body);
        if (!r) die(`${f}: ServicePackageName() returns neither names.X nor a literal`);
        spName[pkg] = r[1];
        continue;
      }
      let kind = null;
      if (/^Ephemeral/.test(fn)) kind = 'ephemeral';
      else if (/ListResources$|^Actions$/.test(fn))
        kind = null; // list resources/actions: no HCL block of ours
      else if (/DataSources$/.test(fn)) kind = 'data';
      else if (/Resources$/.test(fn)) kind = 'resource';
      if (!kind) continue;
      for (const t of b.body.matchAll(/TypeName:\s*"([^"]+)"/g)) {
        const prev = types[kind][t[1]];
        if (prev && prev !== pkg) die(`${kind} ${t[1]} registered by both ${prev} and ${pkg}`);
        types[kind][t[1]] = pkg;
      }
    }
  }
  const getters = {};
  const generated = {};
  for (const [file, isGen] of [
    [GETTERS, true],
    [CONNS_HAND, false],
  ]) {
    for (const b of funcBlocks(readFileSync(join(src, file), 'utf8'))) {
      const m = /^func \(c \*AWSClient\) (\w+)\(/.exec(b.head);
      if (!m) continue;
      // A getter is a method that builds a client with client[T](ctx, c, names.X, ...).
      const n = /client\[[^\]]+\]\(ctx, c, (names\.\w+)/.exec(b.body);
      if (!n) {
        if (isGen) die(`${file}: ${m[1]} does not call client[T](ctx, c, names.X, ...): generator format changed`);
        continue;
      }
      getters[m[1]] = n[1];
      if (isGen) generated[m[1]] = true;
    }
  }
  if (Object.keys(generated).length < 50) die(`${GETTERS}: only ${Object.keys(generated).length} getters parsed`);
  return { types, spName, getters, generated };
}

function loadIndex(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function pkgOfName(index, name) {
  for (const [pkg, n] of Object.entries(index.spName)) if (n === name) return pkg;
  return null;
}

function rootsOf(index, typeLines) {
  const pkgs = new Set();
  const unknown = [];
  for (const line of typeLines) {
    const [kind, type] = line.split(' ');
    const pkg = index.types[kind]?.[type];
    if (pkg) pkgs.add(pkg);
    else unknown.push(`${kind} ${type}`);
  }
  if (unknown.length) die(`type(s) not registered by any service package of this provider: ${unknown.join(', ')}`);
  return [...pkgs].sort();
}

// ---- trimming ---------------------------------------------------------------------------------
/** Drop import lines whose identifier is no longer used in the file. */
function pruneImports(text) {
  const m = /\nimport \(\n([\s\S]*?)\n\)\n/.exec(text);
  if (!m) die('no import block');
  const rest = text.slice(0, m.index) + text.slice(m.index + m[0].length);
  const kept = m[1].split('\n').filter((line) => {
    const im = /^\s*(?:(\w+)\s+)?"([^"]+)"\s*$/.exec(line);
    if (!im) return true; // blank lines
    const ident = im[1] ?? im[2].split('/').pop();
    return new RegExp(`\\b${ident}\\.`).test(rest);
  });
  return (
    text.slice(0, m.index) +
    `\nimport (\n${kept.join('\n').replace(/\n{2,}/g, '\n\n')}\n)\n` +
    text.slice(m.index + m[0].length)
  );
}

const pristine = new Map();
function original(src, rel) {
  if (!pristine.has(rel)) {
    const backup = join(src, `${rel}.orig`);
    if (!existsSync(backup)) writeFileSync(backup, readFileSync(join(src, rel)));
    pristine.set(rel, readFileSync(backup, 'utf8'));
  }
  return pristine.get(rel);
}

function writeServicePackages(src, pkgs) {
  const text = original(src, SP_LIST);
  const keep = new Set(pkgs);
  const lines = text.split('\n').filter((line) => {
    const im = /^\t(?:\w+ )?"github\.com\/hashicorp\/terraform-provider-aws\/internal\/service\/([\w]+)"$/.exec(line);
    if (im) return keep.has(im[1]);
    const call = /^\t\t(\w+)\.ServicePackage\(ctx\),$/.exec(line);
    if (call) return keep.has(call[1]);
    return true;
  });
  const found = lines.filter((l) => /^\t\t\w+\.ServicePackage\(ctx\),$/.test(l)).length;
  if (found !== keep.size) die(`${SP_LIST}: kept ${found} registrations for ${keep.size} packages (import alias?)`);
  writeFileSync(join(src, SP_LIST), lines.join('\n'));
}

function writeGetters(src, getters) {
  const text = original(src, GETTERS);
  const keep = new Set(getters);
  const lines = text.split('\n');
  const drop = new Set();
  for (const b of funcBlocks(text)) {
    const m = /^func \(c \*AWSClient\) (\w+)\(/.exec(b.head);
    if (m && !keep.has(m[1])) {
      for (let i = b.start; i <= b.end + 1; i++) drop.add(i); // + the blank line after it
    }
  }
  writeFileSync(join(src, GETTERS), pruneImports(lines.filter((_, i) => !drop.has(i)).join('\n')));
}

/** Non-test Go files of the provider module's packages in the main package's build. */
function moduleFiles(src) {
  const out = execFileSync(
    'go',
    [
      'list',
      '-deps',
      '-f',
      `{{if .Module}}{{if eq .Module.Path "${MODULE}"}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{end}}{{end}}`,
      '.',
    ],
    { cwd: src, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const files = [];
  const pkgs = [];
  for (const line of out.split('\n').filter(Boolean)) {
    const [dir, ...names] = line.split(' ');
    pkgs.push(dir);
    for (const n of names) files.push(join(dir, n));
  }
  return { files, pkgs };
}

/**
 * Fixpoint: P = roots; repeat { register exactly P; G = getters named anywhere in the compiled
 * provider code (any `.Getter` reference, so method values count too); P ∪= packages behind G }
 * until P is stable. The compiled package set depends only on P (conns imports SDK clients, never
 * service packages), so the loop is monotone and ends. Leaves the copy trimmed to (P, G).
 */
function closeSet(src, index, roots) {
  const P = new Set(roots);
  for (const p of P) if (!index.spName[p]) die(`unknown service package ${p}`);
  const _getterNames = Object.keys(index.getters);
  for (let round = 1; ; round++) {
    writeServicePackages(src, [...P].sort());
    // While listing, keep the getters of the registered packages: the provider-internal package
    // graph does not depend on the getters (conns imports only SDK clients), and keeping all 264
    // would make `go list` download every SDK client module.
    const names = new Set([...P].map((p) => index.spName[p]));
    writeGetters(
      src,
      Object.keys(index.generated).filter((g) => names.has(index.getters[g])),
    );
    const { files } = moduleFiles(src);
    const used = new Set();
    const ref = /\.(\w+Client)\b/g;
    for (const f of files) {
      if (f.endsWith(`/${GETTERS}`)) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(ref)) if (index.getters[m[1]]) used.add(m[1]);
    }
    const before = P.size;
    for (const g of used) {
      const pkg = pkgOfName(index, index.getters[g]);
      if (!pkg) die(`getter ${g} uses ${index.getters[g]}, which no service package registers`);
      P.add(pkg);
    }
    process.stderr.write(
      `[service-set] round ${round}: ${before} packages, ${files.length} provider files, ${used.size} getters used -> ${P.size} packages\n`,
    );
    if (P.size === before) {
      const G = [...used].filter((g) => index.generated[g]).sort();
      writeGetters(src, G);
      return { packages: [...P].sort(), getters: G };
    }
  }
}

// ---- main -------------------------------------------------------------------------------------
const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'types':
    process.stdout.write(`${componentTypes(args[0]).join('\n')}\n`);
    break;
  case 'index':
    writeFileSync(args[1], `${JSON.stringify(buildIndex(args[0]), null, 1)}\n`);
    break;
  case 'roots': {
    const typeLines = readFileSync(args[1], 'utf8').split('\n').filter(Boolean);
    process.stdout.write(`${rootsOf(loadIndex(args[0]), typeLines).join('\n')}\n`);
    break;
  }
  case 'close': {
    const r = closeSet(args[0], loadIndex(args[1]), args.slice(2));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    break;
  }
  default:
    die(`usage: service-set.mjs types|index|roots|close ... (got ${cmd ?? 'nothing'})`);
}
