import { describeOutcome, formatNumber as f } from './goals.ts';
import { PRICES_AS_OF } from './prices.ts';
import type { ReportInputs } from './report-types.ts';

const table = (head: string[], rows: string[][]): string =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const usd = (v: number): string => `$${v.toFixed(2)}`;

/** The markdown report of a run. */
export function renderMarkdown(r: ReportInputs): string {
  const { doc } = r;
  const out: string[] = [];
  out.push(`# pve-inventory benchmark (${doc.mode} run)`);
  out.push('');
  out.push(
    `Machine: ${doc.machine.cpus} × ${doc.machine.cpu_model}, ${doc.machine.memory_gb} GB, Node ${doc.machine.node}, ${doc.machine.platform}; load average ${doc.machine.load_average_start.join(' / ')} at start, ${doc.machine.load_average_end.join(' / ')} at the end. Run took ${doc.duration_s} s (${doc.started_at}).`,
  );
  out.push('');
  out.push(
    `Modelled Proxmox latency per call (simulator): ${Object.entries(doc.modelled_latency_ms)
      .map(([k, v]) => `${k} ${v} ms`)
      .join(
        ', ',
      )}; every node serves 3 calls at once (pvedaemon workers) and the client keeps 3 in flight per node.`,
  );
  out.push('');
  out.push('## Goals');
  out.push('');
  out.push(
    table(
      ['goal', 'measured', 'baseline (same run)', 'outcome'],
      doc.goals.map((g) => [
        g.goal,
        g.value === null ? '—' : `${f(g.value)} ${g.unit}`,
        g.baseline ?? '—',
        describeOutcome(g),
      ]),
    ),
  );
  out.push('');

  if (r.latencies.length > 0) {
    out.push('## 1. VM list latency (ms)');
    out.push('');
    out.push(
      "Inventory: GET /api/vms through the local gateway (JWT verification, payload 2.0 event, the real handler and middleware) on DynamoDB Local. Live: the original portal's request-time list on the simulator with the latencies above (per guest in scope: status/current + config, + agent interfaces for running QEMU guests with the agent). Student: 20 VMs across the clusters; admin: first page (up to 2,000 VMs). Closed loop, percentiles nearest-rank.",
    );
    out.push('');
    const rows = r.latencies.flatMap((l) =>
      l.cells.map((c) => [
        f(c.guests),
        c.user,
        String(c.concurrency),
        `${f(c.inventory.p50)} / ${f(c.inventory.p95)} / ${f(c.inventory.p99)} (n=${c.inventory.n}, ${c.inventory.vms} VMs)`,
        c.live === null
          ? 'not sampled'
          : `${f(c.live.p50)} / ${f(c.live.p95)} / ${f(c.live.p99)} (n=${c.live.n})`,
        c.speedupP50 === null ? '—' : `${f(c.speedupP50)}×`,
      ]),
    );
    out.push(
      table(
        ['guests', 'user', 'conc.', 'inventory p50 / p95 / p99', 'live p50 / p95 / p99', 'speed-up (p50)'],
        rows,
      ),
    );
    out.push('');
    for (const l of r.latencies) {
      out.push(
        `${f(l.cells[0]?.guests ?? 0)} guests: admin list ${f(l.sizes.vms)} VMs, ${f(l.sizes.gzipBytes / 1024)} KB gzip (${f(l.sizes.uncompressedBytes / 1024)} KB uncompressed), ${f(l.sizes.rcuPerRequest)} read units per request. Where a concurrency-1 request's time goes: ${(
          ['student', 'admin'] as const
        )
          .map((u) => {
            const b = l.breakdown[u];
            return `${u} ${f(b.endToEndMs)} ms end to end, handler ${f(b.handlerMs)} ms, DynamoDB Local in flight ${f(b.dynamoMs)} ms (${f(b.dynamoRequests)} requests)`;
          })
          .join('; ')}.`,
      );
    }
    out.push('');
  }

  if (r.scenarios.length > 0) {
    out.push('## 2. Proxmox load (API calls)');
    out.push('');
    out.push(
      'Per pass over all clusters; steady state = mean of 6 full syncs 5 simulated minutes apart (one 30-minute config and IP rotation). Baseline: one status/current per running guest every 30 s.',
    );
    out.push('');
    out.push(
      table(
        [
          'guests (clusters)',
          'quick / cluster',
          'baseline quick / cluster',
          'full cold',
          'full steady mean (max)',
          'steady config reads',
          'steady IP calls',
          'steady other',
        ],
        r.scenarios.map((s) => [
          `${f(s.guests)} (${s.clusters})`,
          f(s.quick.callsPerCluster),
          f(s.baseline.callsPerCluster),
          f(s.fullCold.calls),
          `${f(s.fullSteady.calls.mean)} (${f(s.fullSteady.calls.max)})`,
          `${f(s.fullSteady.byClassMean.config ?? 0)} = ${(s.fullSteady.configShare * 100).toFixed(1)}% of guests`,
          `${f(s.fullSteady.ipCallsMean)} (of ${f(s.ipCandidates)} IP candidates)`,
          f(s.fullSteady.otherCallsMean),
        ]),
      ),
    );
    const s100 = r.scenarios.find((s) => s.guests === 100);
    if (s100 !== undefined) {
      out.push('');
      out.push(
        `Calls per minute for 100 guests: ${f(s100.quick.callsPerCluster * s100.clusters * 2 + s100.fullSteady.calls.mean / 5)} (2 quick passes + a fifth of a steady full sync) vs ${f(s100.baseline.calls * 2)} for the original status poll (${s100.runningGuests} running guests × 2).`,
      );
    }
    out.push('');
  }

  if (r.dyn !== null) {
    const d = r.dyn;
    out.push('## 3. DynamoDB write units');
    out.push('');
    out.push(
      `${f(d.guests)} guests in ${d.clusters} clusters, churn ${d.churnPerMinute} guest created/destroyed/started/stopped per minute per cluster, load drift on, ${d.windowMinutes} simulated minutes (quick every 30 s, full every 5 min). Units as DynamoDB Local reports them (ReturnConsumedCapacity TOTAL), all tables.`,
    );
    out.push('');
    out.push(
      table(
        ['pass', 'write units mean (p95)', 'read units mean', 'n', 'share of rewrite-all'],
        [
          [
            'quick',
            `${f(d.quickWcu.mean)} (${f(d.quickWcu.p95)})`,
            f(d.quickRcu.mean),
            String(d.quickWcu.n),
            `${((d.quickWcu.mean / d.rewriteAllWcu) * 100).toFixed(2)}%`,
          ],
          [
            'full (steady)',
            `${f(d.fullWcu.mean)} (${f(d.fullWcu.p95)})`,
            f(d.fullRcu.mean),
            String(d.fullWcu.n),
            `${((d.fullWcu.mean / d.rewriteAllWcu) * 100).toFixed(2)}%`,
          ],
          [
            'full (cold, first load)',
            f(d.coldFullWcu),
            '—',
            '1',
            `${((d.coldFullWcu / d.rewriteAllWcu) * 100).toFixed(0)}%`,
          ],
          ['baseline: rewrite every item', f(d.rewriteAllWcu), '—', '1', '100%'],
        ],
      ),
    );
    out.push('');
    out.push(
      `Quick pass write units by table: ${Object.entries(d.quickWcuByTable)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', ')}; items written by kind: ${Object.entries(d.quickWritesByKind)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', ')}.`,
    );
    out.push('');
  }

  if (r.scenarios.length > 0) {
    out.push('## 4. Sync wall time and memory');
    out.push('');
    out.push(
      'All clusters of a pass run in one Node process (Map concurrency 10) against the simulator with modelled latencies; in AWS each cluster is its own Lambda, so these are upper bounds. Peak RSS and heap used of that process while the pass ran (sampled every 20 ms; the quick passes run after the cold full sync in the same process); the idle worker (Node + tsx + modules) is shown for reference.',
    );
    out.push('');
    out.push(
      table(
        [
          'guests',
          'full cold (s)',
          'full steady p50 / max (s)',
          'quick p50 / max (s)',
          'peak RSS / heap, cold full (MB)',
          'peak heap quick (MB)',
          'idle RSS (MB)',
          'baseline poll p50 / cluster (ms)',
        ],
        r.scenarios.map((s) => [
          f(s.guests),
          f(s.fullCold.wallS),
          `${f(s.fullSteady.wallS.p50)} / ${f(s.fullSteady.wallS.max)}`,
          `${f(s.quick.wallS.p50)} / ${f(s.quick.wallS.max)}`,
          `${f(s.fullCold.peakRssMb)} / ${f(s.fullCold.peakHeapMb)}`,
          f(s.quick.peakHeapMb),
          f(s.worker.idleRssMb),
          f(s.baseline.msPerCluster.p50),
        ]),
      ),
    );
    out.push('');
  }

  if (r.bundles !== null) {
    out.push('## 5. Lambda bundles');
    out.push('');
    if (r.bundles.synthError !== null)
      out.push(
        `Synth reported: ${r.bundles.synthError.split('\n')[0]} (functions constructed before it are measured).`,
        '',
      );
    out.push(
      table(
        ['function', 'memory (MB)', 'index.mjs (KB)', 'with source map (KB)', 'cold import p50 / max (ms)'],
        r.bundles.functions.map((b) => [
          b.name,
          String(b.memoryMb),
          f(b.bundleBytes / 1024),
          f(b.assetBytes / 1024),
          b.coldImport === null
            ? `failed: ${b.importError ?? '?'}`
            : `${f(b.coldImport.p50)} / ${f(b.coldImport.max)} (n=${b.coldImport.n})`,
        ]),
      ),
    );
    out.push('');
    if (r.bundles.listVmsComposition.length > 0) {
      out.push(
        `Largest parts of the GET /api/vms bundle (minified): ${r.bundles.listVmsComposition.map((c) => `${c.module} ${c.kb} KB`).join(', ')}.`,
      );
      out.push('');
    }
  }

  if (r.cost !== null) {
    const c = r.cost;
    out.push('## 6. Monthly cost (reference fleet)');
    out.push('');
    out.push(
      `${c.workload.clusters} clusters, ${f(c.workload.guests)} guests, ${f(c.workload.listLoadsPerMonth)} list loads a month (50 users × 200 a day), quick sync every ${c.workload.quickSyncSeconds} s, full every ${c.workload.fullSyncMinutes} min. Prices ${PRICES_AS_OF} (bench/lib/prices.ts, with sources), always-free tiers applied. Inputs measured in this run unless marked assumed/configured.`,
    );
    out.push('');
    const services = [...new Set([...Object.keys(c.design.byService), ...Object.keys(c.naive.byService)])];
    out.push(
      table(
        ['service', 'this design', 'naive'],
        [
          ...services.map((s) => [s, usd(c.design.byService[s] ?? 0), usd(c.naive.byService[s] ?? 0)]),
          ['**total**', `**${usd(c.design.totalUsd)}**`, `**${usd(c.naive.totalUsd)}**`],
        ],
      ),
    );
    out.push('');
    out.push(
      `What-if (same measured counts): ${c.variants.map((v) => `${v.name} ${usd(v.monthly_usd)}`).join('; ')}.`,
    );
    out.push('');
    out.push(
      table(
        ['default', 'saves a month', 'trades'],
        c.savings.map((s) => [s.setting, usd(s.saves_usd), s.trades]),
      ),
    );
    out.push('');
    out.push(
      table(
        ['line (this design)', 'quantity', 'unit', 'basis', 'USD'],
        c.design.lines.map((l) => [`${l.service}: ${l.item}`, f(l.quantity), l.unit, l.basis, usd(l.usd)]),
      ),
    );
    out.push('');
  }

  if (doc.import !== null) {
    const i = doc.import;
    const ms = (v: unknown): string =>
      typeof v === 'object' && v !== null && 'p50' in v && 'p99' in v
        ? `${String(v.p50)} / ${String(v.p99)}`
        : '–';
    out.push('## 7. Large mappings import beside a student list');
    out.push('');
    out.push(String(i.description));
    out.push('');
    out.push(
      table(
        [
          'users',
          'import answer',
          'import (s)',
          'student p50 / p99 alone (ms)',
          'during the import (ms)',
          'slowdown p50 / p99',
        ],
        [
          [
            String(i.users),
            String(i.import_status),
            String(i.import_s),
            ms(i.student_alone_ms),
            ms(i.student_during_import_ms),
            `${String(i.slowdown_p50)}× / ${String(i.slowdown_p99)}×`,
          ],
        ],
      ),
    );
    out.push('');
  }

  if (doc.errors.length > 0) {
    out.push('## Errors');
    out.push('');
    for (const e of doc.errors) out.push(`- ${e}`);
    out.push('');
  }
  for (const n of doc.notes) out.push(`Note: ${n}`);
  return `${out.join('\n')}\n`;
}
