/**
 * Dependency order from `settings.depends_on` as `atmos describe stacks` reports it, and a
 * bounded-concurrency runner over it: a component starts when everything it depends on has
 * finished (plans do not read each other's plans, but a reviewer reads them in this order, and an
 * upstream plan error is reported before the dependents'), at most `jobs` at once.
 */

/** One `settings.depends_on` entry (Atmos also allows `file`/`folder` entries: not components). */
interface DependsOnEntry {
  readonly component?: string;
  readonly stack?: string;
}

/** component → the components of the same stack it depends on. */
export function dependencyGraph(
  stack: string,
  settings: Readonly<Record<string, { depends_on?: Record<string, DependsOnEntry> } | undefined>>,
): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const names = Object.keys(settings).sort();
  for (const c of names) {
    const deps = Object.values(settings[c]?.depends_on ?? {})
      .filter((d) => typeof d.component === 'string' && (d.stack === undefined || d.stack === stack))
      .map((d) => d.component!);
    for (const d of deps) {
      if (!names.includes(d))
        throw new Error(
          `${c}: settings.depends_on names component "${d}", which stack ${stack} does not have (it has: ${names.join(', ')})`,
        );
    }
    graph.set(c, [...new Set(deps)].sort());
  }
  topologicalOrder(graph); // throws on a cycle
  return graph;
}

/** Kahn's algorithm with name order among the ready ones (stable output). Throws on a cycle. */
export function topologicalOrder(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const pending = new Map([...graph].map(([c, deps]) => [c, new Set(deps)]));
  const order: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending]
      .filter(([, deps]) => deps.size === 0)
      .map(([c]) => c)
      .sort();
    if (ready.length === 0) throw new Error(`settings.depends_on has a cycle among: ${[...pending.keys()].join(', ')}`);
    for (const c of ready) {
      order.push(c);
      pending.delete(c);
      for (const deps of pending.values()) deps.delete(c);
    }
  }
  return order;
}

/** The graph restricted to `keep` (dependencies through left-out components are kept transitively). */
export function restrict(
  graph: ReadonlyMap<string, readonly string[]>,
  keep: ReadonlySet<string>,
): Map<string, string[]> {
  const closure = (c: string, seen = new Set<string>()): Set<string> => {
    for (const d of graph.get(c) ?? []) if (!seen.has(d)) closure(d, seen.add(d));
    return seen;
  };
  return new Map([...keep].map((c) => [c, [...closure(c)].filter((d) => keep.has(d)).sort()]));
}

/** Every edge turned around (for `-destroy` plans: dependents first). */
export function reversed(graph: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const out = new Map<string, string[]>([...graph.keys()].map((c) => [c, []]));
  for (const [c, deps] of graph) for (const d of deps) out.get(d)!.push(c);
  for (const deps of out.values()) deps.sort();
  return out;
}

/** Runs `task` for every component in dependency order, at most `jobs` at once. */
export async function runInOrder<T>(
  graph: ReadonlyMap<string, readonly string[]>,
  jobs: number,
  task: (component: string) => Promise<T>,
): Promise<Map<string, T>> {
  const order = topologicalOrder(graph);
  const done = new Map<string, T>();
  const started = new Set<string>();
  return new Promise((resolve, reject) => {
    let running = 0;
    const pump = () => {
      if (done.size === order.length) {
        resolve(done);
        return;
      }
      for (const c of order) {
        if (running >= jobs) break;
        if (started.has(c) || !(graph.get(c) ?? []).every((d) => done.has(d))) continue;
        started.add(c);
        running += 1;
        task(c).then((result) => {
          running -= 1;
          done.set(c, result);
          pump();
        }, reject);
      }
    };
    pump();
  });
}
