// The shared code of podmeter's k6 scenarios: environment, targets, the scenario table, the
// request mixes, checks, tags and the end-of-test summary. Every script in k6/ is a thin
// wrapper around defineScenario(). Reference: k6/README.md.
//
// Runs on k6 >= 0.52 (k6/execution, exec.vu.tags, handleSummary). No remote imports, so it
// works offline (the lab) and from a ConfigMap (the k6 operator).
import http from 'k6/http';
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';

// ---------------------------------------------------------------------------------------------
// Environment

function env(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

function envNumber(name, fallback, min) {
  const raw = env(name, undefined);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name}=${raw}: expected a number >= ${min}`);
  }
  return value;
}

/** Seconds in a k6 duration ("90s", "5m", "1m30s", "500ms", "1h"); a bare number is seconds. */
export function parseDuration(text) {
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let match;
  while ((match = re.exec(s)) !== null) {
    const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2]];
    total += Number(match[1]) * unit;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== s.length) throw new Error(`bad duration: ${text}`);
  return total;
}

function envDuration(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) return fallback;
  try {
    return parseDuration(raw);
  } catch (e) {
    throw new Error(`${name}=${raw}: expected a duration such as 30s, 5m, 1m30s`);
  }
}

/** k6's duration syntax for whole or fractional seconds. */
function secs(seconds) {
  return Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`;
}

export const PROFILE = env('PROFILE', 'quick');
if (PROFILE !== 'quick' && PROFILE !== 'full') {
  throw new Error(`PROFILE=${PROFILE}: expected quick or full`);
}
const FULL = PROFILE === 'full';

// ---------------------------------------------------------------------------------------------
// Targets: TARGETS="rust=http://127.0.0.1:8080,go=http://..." or BASE_URL (+ RUNTIME).

/** [{name, url}] from TARGETS or BASE_URL. A name '' is learnt from /health in setup(). */
export function parseTargets() {
  const list = env('TARGETS', '');
  if (list) {
    return list.split(',').map((entry) => entry.trim()).filter((entry) => entry).map((entry) => {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new Error(`TARGETS entry "${entry}": expected name=url`);
      const name = entry.slice(0, eq).trim();
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`TARGETS name "${name}": use [A-Za-z0-9_.-]`);
      return { name, url: entry.slice(eq + 1).trim().replace(/\/+$/, '') };
    });
  }
  const base = env('BASE_URL', '');
  if (!base) throw new Error('set BASE_URL=http://host:port or TARGETS=name=url,name=url');
  return [{ name: env('RUNTIME', ''), url: base.replace(/\/+$/, '') }];
}

// ---------------------------------------------------------------------------------------------
// The scenarios. Durations and VUs are the reference report's (full) or ~10-20 s versions of
// them (quick); think times reproduce its request rates (e.g. load: 14,976 requests in 5 min at
// an average of 25 VUs is about 0.5 s per iteration).

const SCENARIOS = {
  load: {
    what: 'ramp 0 -> 50 VUs; 80 % /compute?n=50000, 20 % /health',
    shape: 'ramp', vus: 50, duration: FULL ? '5m' : '15s', think: 0.5, mix: 'compute',
  },
  spike: {
    what: '5 -> 100 VUs in 5 s, hold 60 s; the load mix',
    shape: 'spike', vus: 100, startVus: 5, baseline: FULL ? '10s' : '2s', ramp: '5s',
    duration: FULL ? '60s' : '10s', rampDown: FULL ? '5s' : '1s', think: 0.4, mix: 'compute',
  },
  soak: {
    what: '30 VUs constant; the load mix',
    shape: 'constant', vus: 30, duration: FULL ? '10m' : '20s', think: 0.3, mix: 'compute',
  },
  squeeze: {
    what: '20 VUs constant against apps squeezed to a 50m CPU limit (applied outside k6)',
    shape: 'constant', vus: 20, duration: FULL ? '60s' : '15s', think: 0.2, mix: 'compute',
  },
  payload: {
    what: '30 VUs constant; /payload?size=1000',
    shape: 'constant', vus: 30, duration: FULL ? '30s' : '15s', think: 0.1, mix: 'payload',
  },
  'pod-kill': {
    what: '20 VUs steady while an outside tool kills a replica; per-second success series',
    shape: 'constant', vus: 20, duration: FULL ? '2m' : '20s', think: 0.2, mix: 'compute',
    perSecond: true,
  },
  'compute-scaling': {
    what: 'single sequential /compute requests at n = 1k, 5k, 10k, 50k, 100k, 500k',
    shape: 'sequence', iterations: FULL ? 10 : 3, maxDuration: FULL ? '20m' : '3m',
  },
  hpa: {
    what: 'ramp 0 -> 50 VUs as load, longer, while the HPA scales the Deployment (cluster mode)',
    shape: 'ramp', vus: 50, duration: FULL ? '5m' : '60s', think: 0.5, mix: 'compute',
  },
  'rolling-update': {
    what: '50 VUs constant while the Deployment rolls v1 -> v2 at SPLIT_AT (cluster mode)',
    shape: 'constant', vus: 50, duration: FULL ? '2m' : '30s', think: 0.2, mix: 'compute',
    perWindow: true,
  },
  interference: {
    what: 'the spike on two (or more) targets at the same time',
    shape: 'spike', vus: 100, startVus: 5, baseline: FULL ? '10s' : '2s', ramp: '5s',
    duration: FULL ? '60s' : '10s', rampDown: FULL ? '5s' : '1s', think: 0.4, mix: 'compute',
    parallel: true, minTargets: 2,
  },
};

export const SCENARIO_NAMES = Object.keys(SCENARIOS);

const N_VALUES_DEFAULT = '1000,5000,10000,50000,100000,500000';

/** The scenario's settings after the env overrides (see k6/README.md). */
function settings(name) {
  const base = SCENARIOS[name];
  if (!base) throw new Error(`unknown scenario "${name}": one of ${SCENARIO_NAMES.join(', ')}`);
  const scale = envNumber('VU_SCALE', 1, 0.001);
  const vus = (n) => Math.max(1, Math.round(n * scale));
  const s = {
    name,
    what: base.what,
    shape: base.shape,
    vus: vus(envNumber('VUS', base.vus || 1, 1)),
    startVus: vus(envNumber('START_VUS', base.startVus || 1, 0)),
    duration: envDuration('DURATION', parseDuration(base.duration || '0s')),
    baseline: envDuration('BASELINE', parseDuration(base.baseline || '0s')),
    ramp: envDuration('RAMP', parseDuration(base.ramp || '0s')),
    rampDown: envDuration('RAMP_DOWN', parseDuration(base.rampDown || '0s')),
    think: envNumber('THINK', base.think || 0, 0),
    mix: base.mix,
    perSecond: !!base.perSecond,
    perWindow: !!base.perWindow,
    iterations: Math.round(envNumber('ITERATIONS', base.iterations || 1, 1)),
    maxDuration: envDuration('MAX_DURATION', parseDuration(base.maxDuration || '10m')),
    grace: envDuration('GRACE', FULL ? 10 : 3),
    gap: envDuration('GAP', FULL ? 10 : 2),
    parallel: !!base.parallel || env('PARALLEL', '0') === '1',
    minTargets: base.minTargets || 1,
    timeout: secs(envDuration('REQUEST_TIMEOUT', FULL ? 60 : 20)),
    computeN: Math.round(envNumber('COMPUTE_N', 50000, 0)),
    payloadSize: Math.round(envNumber('PAYLOAD_SIZE', 1000, 0)),
    healthEvery: Math.round(envNumber('HEALTH_EVERY', 5, 0)),
    nValues: env('N_VALUES', N_VALUES_DEFAULT).split(',').map((v) => Math.round(Number(v))),
    maxRequests: Math.round(envNumber('MAX_REQUESTS', FULL ? 2000000 : 200000, 1)),
  };
  // rolling-update: requests before SPLIT_AT seconds of the target's run are window "before",
  // the rest "during" (the rollout starts then).
  s.splitAt = envDuration('SPLIT_AT', s.duration / 4);
  if (s.nValues.some((n) => !Number.isFinite(n) || n < 0)) throw new Error(`bad N_VALUES`);
  return s;
}

/** Seconds one target's k6 scenario lasts (without graceful stop). */
function activeSeconds(s) {
  switch (s.shape) {
    case 'ramp':
    case 'constant':
      return s.duration;
    case 'spike':
      return s.baseline + s.ramp + s.duration + s.rampDown;
    default:
      return s.maxDuration;
  }
}

/** The k6 executor config for one target. */
function executor(s, startSeconds) {
  const common = { exec: 'run', startTime: secs(startSeconds) };
  switch (s.shape) {
    case 'ramp':
      return {
        ...common, executor: 'ramping-vus', startVUs: 0, gracefulRampDown: secs(s.grace),
        gracefulStop: secs(s.grace), stages: [{ duration: secs(s.duration), target: s.vus }],
      };
    case 'constant':
      return {
        ...common, executor: 'constant-vus', vus: s.vus, duration: secs(s.duration),
        gracefulStop: secs(s.grace),
      };
    case 'spike': {
      const stages = [];
      if (s.baseline > 0) stages.push({ duration: secs(s.baseline), target: s.startVus });
      stages.push({ duration: secs(s.ramp), target: s.vus });
      stages.push({ duration: secs(s.duration), target: s.vus });
      if (s.rampDown > 0) stages.push({ duration: secs(s.rampDown), target: 0 });
      return {
        ...common, executor: 'ramping-vus', startVUs: s.startVus, gracefulRampDown: secs(s.grace),
        gracefulStop: secs(s.grace), stages,
      };
    }
    case 'sequence':
      return {
        ...common, executor: 'per-vu-iterations', vus: 1, iterations: s.iterations,
        maxDuration: secs(s.maxDuration), gracefulStop: secs(s.grace),
      };
    default:
      throw new Error(`unknown shape ${s.shape}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Metrics of our own

const computeServerMs = new Trend('compute_server_ms', true); // Server-Timing: compute;dur=
const podKillOk = new Counter('pod_kill_ok');
const podKillFailed = new Counter('pod_kill_failed');

const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)', 'count'];

// ---------------------------------------------------------------------------------------------
// Requests and checks

/** Runtime name from /health: "rust", "go", "django" (framework django), else its runtime. */
function runtimeOf(body) {
  if (!body) return '';
  if (body.framework === 'django') return 'django';
  return String(body.runtime || '');
}

function parseJson(res) {
  try {
    return res.json();
  } catch (e) {
    return undefined;
  }
}

function get(s, target, path, name, tags) {
  return http.get(`${target.url}${path}`, { tags: { name, ...tags }, timeout: s.timeout });
}

function checkHealth(res) {
  const body = parseJson(res);
  return check(res, {
    'status 200': (r) => r.status === 200,
    'json health ok': () => !!body && body.status === 'ok',
  });
}

function checkCompute(res, n) {
  const body = parseJson(res);
  return check(res, {
    'status 200': (r) => r.status === 200,
    'json compute': () => !!body && body.n === n && Number.isInteger(body.primes),
  });
}

function checkPayload(res, size) {
  const body = parseJson(res);
  return check(res, {
    'status 200': (r) => r.status === 200,
    'json payload': () => Array.isArray(body) && body.length === size &&
      (size === 0 || body[size - 1].id === size - 1),
  });
}

/** Milliseconds in `Server-Timing: compute;dur=<ms>`, or NaN. */
function serverComputeMs(res) {
  const header = res.headers['Server-Timing'] || res.headers['server-timing'] || '';
  const match = /compute;dur=([0-9.]+)/.exec(header);
  return match ? Number(match[1]) : NaN;
}

/** One iteration of the load mix: /compute?n=COMPUTE_N, every HEALTH_EVERY-th /health. */
function mixIteration(s, target) {
  const i = exec.scenario.iterationInTest;
  if (s.mix === 'payload') {
    return checkPayload(get(s, target, `/payload?size=${s.payloadSize}`, '/payload', {}), s.payloadSize);
  }
  if (s.healthEvery > 0 && i % s.healthEvery === s.healthEvery - 1) {
    return checkHealth(get(s, target, '/health', '/health', {}));
  }
  return checkCompute(get(s, target, `/compute?n=${s.computeN}`, '/compute', {}), s.computeN);
}

function sequenceIteration(s, targets) {
  for (const target of targets) {
    exec.vu.tags.runtime = target.name;
    for (const n of s.nValues) {
      const res = get(s, target, `/compute?n=${n}`, '/compute', { n: String(n) });
      checkCompute(res, n);
      const ms = serverComputeMs(res);
      if (Number.isFinite(ms)) computeServerMs.add(ms, { n: String(n) });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The scenario as a k6 module

function runIdDefault(name) {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${name}-${t}`;
}

/**
 * Everything a scenario script exports: {options, setup, run, handleSummary}.
 * name: a key of SCENARIOS.
 */
export function defineScenario(name) {
  const s = settings(name);
  const targets = parseTargets();
  if (targets.length < s.minTargets) {
    throw new Error(`${name} needs at least ${s.minTargets} targets: TARGETS=a=http://...,b=http://...`);
  }
  const named = targets.every((t) => t.name);
  const multi = targets.length > 1;

  // One k6 scenario per target (run one after another unless parallel); compute-scaling is one
  // sequential scenario over all targets.
  const scenarios = {};
  const targetOf = {};
  const plan = [];
  if (s.shape === 'sequence') {
    scenarios[name] = executor(s, 0);
    plan.push({ k6: name, target: null, start: 0, seconds: null });
  } else {
    targets.forEach((target, index) => {
      const start = s.parallel ? 0 : index * (activeSeconds(s) + s.grace + s.gap);
      const k6name = multi ? `${name}_${index}_${target.name}` : name;
      scenarios[k6name] = executor(s, start);
      targetOf[k6name] = index;
      plan.push({ k6: k6name, target: target.name, start, seconds: activeSeconds(s) });
    });
  }

  // Tagged sub-metrics so the summary can split by runtime (and n, and second). Empty threshold
  // lists define the sub-metric without judging it.
  const thresholds = {};
  // Requests of setup() (phase setup, warmup) are left out: run() tags its own phase=main.
  const byRuntime = multi && named
    ? targets.map((t) => ({ runtime: t.name, sel: `phase:main,runtime:${t.name}` }))
    : [{ runtime: null, sel: 'phase:main' }];
  for (const { sel } of byRuntime) {
    thresholds[`http_reqs{${sel}}`] = [];
    thresholds[`http_req_failed{${sel}}`] = [];
    thresholds[`http_req_duration{${sel}}`] = [];
    thresholds[`checks{${sel}}`] = [];
    if (s.shape === 'sequence') {
      for (const n of s.nValues) {
        thresholds[`http_req_duration{${sel},n:${n}}`] = [];
        thresholds[`compute_server_ms{${sel},n:${n}}`] = [];
      }
    }
    if (s.perWindow) {
      for (const w of ['before', 'during']) {
        thresholds[`http_reqs{${sel},window:${w}}`] = [];
        thresholds[`http_req_failed{${sel},window:${w}}`] = [];
        thresholds[`http_req_duration{${sel},window:${w}}`] = [];
      }
    }
    if (s.perSecond) {
      const seconds = Math.ceil(activeSeconds(s) + s.grace);
      for (let sec = 0; sec < seconds; sec++) {
        thresholds[`pod_kill_ok{${sel},second:${sec}}`] = [];
        thresholds[`pod_kill_failed{${sel},second:${sec}}`] = [];
      }
    }
  }
  // Judged only with THRESHOLDS=enforce: the benchmark's point is to see runtimes fail.
  const slo = {
    p95Ms: envNumber('SLO_P95_MS', 1000, 0),
    failedRate: envNumber('SLO_FAILED_RATE', 0.01, 0),
    checksRate: envNumber('SLO_CHECKS_RATE', 0.99, 0),
  };
  const enforce = env('THRESHOLDS', 'report');
  if (enforce !== 'report' && enforce !== 'enforce') {
    throw new Error(`THRESHOLDS=${enforce}: expected report or enforce`);
  }
  if (enforce === 'enforce') {
    thresholds.http_req_duration = [`p(95)<${slo.p95Ms}`];
    thresholds.http_req_failed = [`rate<${slo.failedRate}`];
    thresholds.checks = [`rate>${slo.checksRate}`];
  }

  const runId = env('RUN_ID', runIdDefault(name));
  const options = {
    scenarios,
    thresholds,
    summaryTrendStats: TREND_STATS,
    tags: { run_id: runId, profile: PROFILE },
    // Bounded in time (every executor has a duration) and here in count.
    setupTimeout: '60s',
    teardownTimeout: '10s',
  };

  function setup() {
    const found = targets.map((target) => {
      const res = http.get(`${target.url}/health`, { tags: { name: '/health', phase: 'setup' }, timeout: '10s' });
      const runtime = runtimeOf(parseJson(res));
      if (res.status !== 200) {
        console.warn(`${target.url}/health: status ${res.status} ${res.error || ''}`);
      } else if (target.name && runtime && runtime !== target.name) {
        console.warn(`target "${target.name}" (${target.url}) reports runtime "${runtime}"`);
      }
      return { name: target.name || runtime || 'unknown', url: target.url };
    });
    if (s.shape === 'sequence') {
      // One warm-up per target and n, not measured (tagged phase=warmup).
      for (const target of found) {
        for (const n of s.nValues) {
          http.get(`${target.url}/compute?n=${n}`, { tags: { name: '/compute', phase: 'warmup' }, timeout: s.timeout });
        }
      }
    }
    if (plan.length > 1 && !s.parallel) {
      // When to act on which runtime (pod-kill: when to kill a replica of it).
      for (const p of plan) {
        console.log(`${name}: ${found[targetOf[p.k6]].name} from +${p.start} s for ${p.seconds} s`);
      }
    }
    return { runId: exec.test.options.tags.run_id, targets: found, plan };
  }

  function run(data) {
    exec.vu.tags.scenario = name;
    exec.vu.tags.phase = 'main';
    if (exec.scenario.iterationInTest >= s.maxRequests) {
      // Request budget spent: idle out the rest of the scenario.
      sleep(1);
      return;
    }
    if (s.shape === 'sequence') {
      sequenceIteration(s, data.targets);
      return;
    }
    const target = data.targets[targetOf[exec.scenario.name]];
    exec.vu.tags.runtime = target.name;
    if (s.perWindow) {
      const elapsed = (Date.now() - exec.scenario.startTime) / 1000;
      exec.vu.tags.window = elapsed < s.splitAt ? 'before' : 'during';
    }
    const ok = mixIteration(s, target);
    if (s.perSecond) {
      const second = String(Math.floor((Date.now() - exec.scenario.startTime) / 1000));
      (ok ? podKillOk : podKillFailed).add(1, { second });
    }
    if (s.think > 0) sleep(s.think);
  }

  function handleSummary(data) {
    const report = summarize(s, data, targets, byRuntime, slo, runId);
    const out = { stdout: `${renderSummary(s, report)}\n` };
    const file = env('SUMMARY_FILE', '');
    if (file) out[file] = JSON.stringify({ ...report, k6: data }, null, 1);
    return out;
  }

  return { options, setup, run, handleSummary };
}

// ---------------------------------------------------------------------------------------------
// Summary

function metric(data, key) {
  const m = data.metrics[key];
  return m ? m.values : undefined;
}

function podKillSeries(s, data, sel) {
  const seconds = Math.ceil(activeSeconds(s) + s.grace);
  const series = [];
  for (let sec = 0; sec < seconds; sec++) {
    const both = `${sel},second:${sec}`;
    const ok = (metric(data, `pod_kill_ok{${both}}`) || {}).count || 0;
    const failed = (metric(data, `pod_kill_failed{${both}}`) || {}).count || 0;
    series.push({ second: sec, ok, failed });
  }
  while (series.length && series[series.length - 1].ok + series[series.length - 1].failed === 0) {
    series.pop();
  }
  // Disrupted: a second with failures, or with fewer than DIP x the median successes.
  const dip = envNumber('DIP', 0.5, 0);
  const inner = series.slice(1, -1).map((p) => p.ok).sort((a, b) => a - b);
  const median = inner.length ? inner[Math.floor(inner.length / 2)] : 0;
  const disrupted = series.filter((p) => p.failed > 0 || (p.second > 0 && p.second < series.length - 1 && p.ok < dip * median));
  const first = disrupted.length ? disrupted[0].second : null;
  const last = disrupted.length ? disrupted[disrupted.length - 1].second : null;
  return {
    median_ok_per_second: median,
    first_disrupted_second: first,
    last_disrupted_second: last,
    recovery_seconds: first === null ? 0 : last - first + 1,
    failed: series.reduce((sum, p) => sum + p.failed, 0),
    series,
  };
}

function summarize(s, data, targets, byRuntime, slo, runId) {
  const setupTargets = (data.setup_data && data.setup_data.targets) || targets;
  const rows = byRuntime.map(({ runtime, sel }) => {
    const name = runtime || setupTargets.map((t) => t.name).join('+');
    const reqs = metric(data, `http_reqs{${sel}}`) || { count: 0 };
    const failed = metric(data, `http_req_failed{${sel}}`) || { passes: 0, rate: 0 };
    const dur = metric(data, `http_req_duration{${sel}}`) || {};
    const checks = metric(data, `checks{${sel}}`) || { rate: 0 };
    // Requests per second over the target's own scenario time when targets ran one by one.
    const seconds = s.shape === 'sequence' || s.parallel || !runtime ? data.state.testRunDurationMs / 1000 : activeSeconds(s);
    const row = {
      runtime: name,
      requests: reqs.count,
      failed: failed.passes,
      failed_rate: failed.rate,
      avg_ms: dur.avg, p50_ms: dur['p(50)'], p95_ms: dur['p(95)'], p99_ms: dur['p(99)'], max_ms: dur.max,
      requests_per_second: seconds > 0 ? reqs.count / seconds : 0,
      checks_rate: checks.rate,
    };
    if (s.perSecond) row.pod_kill = podKillSeries(s, data, sel);
    if (s.perWindow) {
      row.split_at_seconds = s.splitAt;
      for (const w of ['before', 'during']) {
        const d = metric(data, `http_req_duration{${sel},window:${w}}`) || {};
        const f = metric(data, `http_req_failed{${sel},window:${w}}`) || { passes: 0 };
        const r = metric(data, `http_reqs{${sel},window:${w}}`) || { count: 0 };
        row[`p95_ms_${w}`] = d['p(95)'];
        row[`failed_${w}`] = f.passes;
        row[`requests_${w}`] = r.count;
      }
    }
    if (s.shape === 'sequence') {
      row.compute = s.nValues.map((n) => {
        const both = `${sel},n:${n}`;
        return {
          n,
          client_median_ms: (metric(data, `http_req_duration{${both}}`) || {}).med,
          server_median_ms: (metric(data, `compute_server_ms{${both}}`) || {}).med,
        };
      });
    }
    row.slo_ok = row.requests > 0 && (row.p95_ms || 0) < slo.p95Ms && row.failed_rate < slo.failedRate &&
      row.checks_rate > slo.checksRate;
    return row;
  });
  return {
    run_id: runId, scenario: s.name, profile: PROFILE, description: s.what,
    settings: s, slo, targets: setupTargets, rows,
    duration_seconds: data.state.testRunDurationMs / 1000,
  };
}

function fmt(value, digits) {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  return Number(value).toFixed(digits);
}

function renderSummary(s, report) {
  const lines = [];
  lines.push(`## ${report.scenario} (${report.profile}, run_id ${report.run_id}, ${fmt(report.duration_seconds, 1)} s)`);
  lines.push(`${report.description}`);
  lines.push('');
  lines.push('| runtime | requests | failed | avg ms | p95 ms | p99 ms | max ms | req/s | checks | SLO |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of report.rows) {
    lines.push(`| ${r.runtime} | ${r.requests} | ${r.failed} (${fmt(100 * r.failed_rate, 2)} %) | ` +
      `${fmt(r.avg_ms, 2)} | ${fmt(r.p95_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${fmt(r.max_ms, 2)} | ` +
      `${fmt(r.requests_per_second, 1)} | ${fmt(100 * r.checks_rate, 2)} % | ${r.slo_ok ? 'ok' : 'missed'} |`);
  }
  lines.push('');
  lines.push(`SLO (${env('THRESHOLDS', 'report') === 'enforce' ? 'enforced' : 'informational'}): ` +
    `p95 < ${report.slo.p95Ms} ms, failed < ${100 * report.slo.failedRate} %, checks > ${100 * report.slo.checksRate} %`);
  if (s.shape === 'sequence') {
    lines.push('');
    lines.push(`Median ms per request, server (Server-Timing) / client round trip:`);
    lines.push('');
    lines.push(`| n | ${report.rows.map((r) => r.runtime).join(' | ')} |`);
    lines.push(`|---:|${report.rows.map(() => '---:').join('|')}|`);
    s.nValues.forEach((n, i) => {
      const cells = report.rows.map((r) => `${fmt(r.compute[i].server_median_ms, 3)} / ${fmt(r.compute[i].client_median_ms, 3)}`);
      lines.push(`| ${n} | ${cells.join(' | ')} |`);
    });
  }
  if (s.perSecond) {
    lines.push('');
    for (const r of report.rows) {
      const p = r.pod_kill;
      lines.push(`pod-kill ${r.runtime}: ${p.failed} failed; median ${p.median_ok_per_second} ok/s; ` +
        (p.first_disrupted_second === null ? 'no disruption seen' :
          `disrupted from second ${p.first_disrupted_second} to ${p.last_disrupted_second}: recovery ${p.recovery_seconds} s`));
      lines.push(`  ok/s:     ${p.series.map((x) => x.ok).join(' ')}`);
      lines.push(`  failed/s: ${p.series.map((x) => x.failed).join(' ')}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Suites: one reference report each, reproduced (k6/README.md, "Suites"). A suite runs its tests
// one after another per target (runtime), every request of a test tagged `test`, and summarises
// one row per runtime and test. Durations are the report's (full) or shorter (quick); STAGE_SCALE
// multiplies every stage (the lab's tiny profile), VU_SCALE every VU count.

/** Stages as [seconds, target VUs]. */
const FIB_LOAD = { full: [[20, 10], [20, 50], [15, 100], [5, 0]], quick: [[5, 10], [5, 50], [6, 100], [2, 0]] };
const FIB_SPIKE = { full: [[10, 5], [5, 100], [60, 100], [5, 0]], quick: [[2, 5], [5, 100], [10, 100], [1, 0]] };
const SHA_STAGES = { full: [[120, 100], [900, 100], [30, 0]], quick: [[10, 100], [30, 100], [5, 0]] };

// Sum and sum of squares of each request's duration (ms): the standard deviation the snowflake
// report gives, which k6's trends do not.
const suiteMsSum = new Counter('suite_duration_ms_sum');
const suiteMsSq = new Counter('suite_duration_ms_sq');

const SUITES = {
  fib: {
    report: 'k8s-fib-rust-go-python.md',
    what: 'fibonacci(30) per request (/fib?n=30): single requests, load ramp 10 -> 50 -> 100 -> 0, ' +
      'spike 5 -> 100 in 5 s, soak 30 VUs',
    path: '/fib?n=30',
    name: '/fib',
    check: (body) => !!body && body.n === 30 && body.result === 832040,
    tests: [
      { test: 'single', iterations: 10, think: 0.2 },
      { test: 'load', stages: FIB_LOAD, think: 0.1 },
      { test: 'spike', stages: FIB_SPIKE, startVus: 5, think: 0.1 },
      { test: 'soak', vus: 30, seconds: { full: 300, quick: 20 }, think: 0.1 },
    ],
  },
  snowflake: {
    report: 'snowflake-axum-fasthttp.md',
    what: 'snowflake ids (/id): 10 VUs constant',
    path: '/id',
    name: '/id',
    check: (body) => !!body && Number.isInteger(body.id) && body.id > 0,
    tests: [{ test: 'ids', vus: 10, seconds: { full: 60, quick: 20 }, think: 0.1 }],
  },
  sha256: {
    report: 'sha256-hyper-nethttp-k8s.md',
    what: '100 SHA-256 rounds per request (/hash?rounds=100): ramp to 100 VUs, hold, ramp down ' +
      '(the report: 15,000 VUs, 2 min + 15 min + 30 s)',
    path: '/hash?rounds=100',
    name: '/hash',
    check: (body) => !!body && body.rounds === 100 && /^[0-9a-f]{64}$/.test(String(body.hash)),
    tests: [{ test: 'main', stages: SHA_STAGES, think: 0 }],
  },
};

export const SUITE_NAMES = Object.keys(SUITES);

/**
 * The suite's tests after SUITE_TESTS (a comma list of test names: only those, in the suite's
 * order; the lab runs one test per k6 run), PROFILE, STAGE_SCALE and VU_SCALE:
 * {test, executor fields, seconds}.
 */
function suiteTests(suite) {
  const known = suite.tests.map((t) => t.test);
  const only = env('SUITE_TESTS', '').split(',').map((t) => t.trim()).filter((t) => t);
  const unknown = only.filter((t) => !known.includes(t));
  if (unknown.length) throw new Error(`SUITE_TESTS=${only.join(',')}: no test ${unknown.join(', ')} (${known.join(', ')})`);
  const chosen = only.length ? suite.tests.filter((t) => only.includes(t.test)) : suite.tests;
  const stageScale = envNumber('STAGE_SCALE', 1, 0.001);
  const vuScale = envNumber('VU_SCALE', 1, 0.001);
  const vus = (n) => (n === 0 ? 0 : Math.max(1, Math.round(n * vuScale)));
  const sec = (n) => Math.max(1, Math.round(n * stageScale));
  const key = FULL ? 'full' : 'quick';
  return chosen.map((t) => {
    if (t.iterations) {
      const iterations = Math.max(1, Math.round(t.iterations * Math.min(1, stageScale * 2)));
      return { ...t, shape: 'iterations', iterations, seconds: Math.max(3, Math.ceil(iterations * 1.5)) };
    }
    if (t.stages) {
      const stages = t.stages[key].map(([d, target]) => ({ duration: secs(sec(d)), target: vus(target) }));
      const seconds = stages.reduce((sum, st) => sum + parseDuration(st.duration), 0);
      return { ...t, shape: 'stages', stages, startVus: vus(t.startVus || 0), seconds };
    }
    return { ...t, shape: 'constant', vus: vus(t.vus), seconds: sec(t.seconds[key]) };
  });
}

function suiteExecutor(t, start, grace) {
  const common = { exec: 'run', startTime: secs(start), gracefulStop: secs(grace) };
  if (t.shape === 'iterations') {
    return { ...common, executor: 'per-vu-iterations', vus: 1, iterations: t.iterations, maxDuration: secs(t.seconds) };
  }
  if (t.shape === 'stages') {
    return { ...common, executor: 'ramping-vus', startVUs: t.startVus, gracefulRampDown: secs(grace), stages: t.stages };
  }
  return { ...common, executor: 'constant-vus', vus: t.vus, duration: secs(t.seconds) };
}

/**
 * A suite as a k6 module: {options, setup, run, handleSummary}, like defineScenario. Every test
 * of the suite runs for every target, the targets one after another (each target's tests in a
 * row, GAP between tests and targets).
 */
export function defineSuite(name) {
  const suite = SUITES[name];
  if (!suite) throw new Error(`unknown suite "${name}": one of ${SUITE_NAMES.join(', ')}`);
  const tests = suiteTests(suite);
  const targets = parseTargets();
  if (!targets.every((t) => t.name)) throw new Error(`${name}: name every target: TARGETS=a=http://...`);
  const grace = envDuration('GRACE', FULL ? 10 : 3);
  const gap = envDuration('GAP', FULL ? 10 : 2);
  const timeout = secs(envDuration('REQUEST_TIMEOUT', 60));
  const maxRequests = Math.round(envNumber('MAX_REQUESTS', FULL ? 2000000 : 200000, 1));
  const scenarios = {};
  const plan = {};
  let start = 0;
  targets.forEach((target, index) => {
    for (const t of tests) {
      const k6name = `${name}_${index}_${target.name}_${t.test}`;
      scenarios[k6name] = suiteExecutor(t, start, grace);
      plan[k6name] = { target: index, runtime: target.name, test: t.test, start, seconds: t.seconds };
      start += t.seconds + grace + gap;
    }
  });
  const thresholds = {};
  const sels = [];
  for (const target of targets) {
    for (const t of tests) {
      const sel = `phase:main,runtime:${target.name},test:${t.test}`;
      sels.push({ runtime: target.name, test: t.test, sel });
      for (const m of ['http_reqs', 'http_req_failed', 'http_req_duration', 'checks', 'suite_duration_ms_sum',
        'suite_duration_ms_sq']) {
        thresholds[`${m}{${sel}}`] = [];
      }
    }
  }
  const runId = env('RUN_ID', runIdDefault(name));
  const options = {
    scenarios,
    thresholds,
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'count'],
    tags: { run_id: runId, profile: PROFILE },
    setupTimeout: '60s',
    teardownTimeout: '10s',
  };

  function setup() {
    for (const target of targets) {
      const res = http.get(`${target.url}/health`, { tags: { name: '/health', phase: 'setup' }, timeout: '10s' });
      if (res.status !== 200) console.warn(`${target.url}/health: status ${res.status} ${res.error || ''}`);
    }
    return { runId: exec.test.options.tags.run_id };
  }

  function run() {
    const p = plan[exec.scenario.name];
    exec.vu.tags.scenario = name;
    exec.vu.tags.phase = 'main';
    exec.vu.tags.runtime = p.runtime;
    exec.vu.tags.test = p.test;
    if (exec.scenario.iterationInTest >= maxRequests) {
      sleep(1);
      return;
    }
    const res = http.get(`${targets[p.target].url}${suite.path}`, { tags: { name: suite.name }, timeout });
    suiteMsSum.add(res.timings.duration);
    suiteMsSq.add(res.timings.duration * res.timings.duration);
    const body = parseJson(res);
    check(res, { 'status 200': (r) => r.status === 200, [`json ${suite.name}`]: () => suite.check(body) });
    const t = tests.find((x) => x.test === p.test);
    if (t.think > 0) sleep(t.think);
  }

  function handleSummary(data) {
    const rows = sels.map(({ runtime, test, sel }) => {
      const reqs = metric(data, `http_reqs{${sel}}`) || { count: 0 };
      const failed = metric(data, `http_req_failed{${sel}}`) || { passes: 0, rate: 0 };
      const dur = metric(data, `http_req_duration{${sel}}`) || {};
      const checks = metric(data, `checks{${sel}}`) || { rate: 0 };
      const t = tests.find((x) => x.test === test);
      const sum = (metric(data, `suite_duration_ms_sum{${sel}}`) || { count: 0 }).count;
      const sq = (metric(data, `suite_duration_ms_sq{${sel}}`) || { count: 0 }).count;
      const n = reqs.count;
      const std = n > 1 ? Math.sqrt(Math.max(0, (sq - (sum * sum) / n) / (n - 1))) : null;
      return {
        runtime, test, requests: reqs.count, failed: failed.passes, failed_rate: failed.rate,
        avg_ms: dur.avg, min_ms: dur.min, p50_ms: dur['p(50)'], p90_ms: dur['p(90)'], p95_ms: dur['p(95)'],
        p99_ms: dur['p(99)'], max_ms: dur.max, std_ms: std,
        requests_per_second: t.seconds > 0 ? reqs.count / t.seconds : 0, seconds: t.seconds,
        checks_rate: checks.rate,
      };
    });
    const report = {
      run_id: runId, scenario: name, suite: name, report: suite.report, profile: PROFILE,
      description: suite.what, tests: tests.map((t) => ({ test: t.test, shape: t.shape, seconds: t.seconds,
        vus: t.vus, stages: t.stages, iterations: t.iterations, think: t.think })),
      plan: Object.values(plan), rows, duration_seconds: data.state.testRunDurationMs / 1000,
    };
    const lines = [`## suite ${name} (${PROFILE}, run_id ${runId}, ${fmt(report.duration_seconds, 1)} s): ${suite.report}`,
      suite.what, '', '| runtime | test | requests | failed | avg ms | p50 ms | p90 ms | p95 ms | p99 ms | req/s |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
    for (const r of rows) {
      lines.push(`| ${r.runtime} | ${r.test} | ${r.requests} | ${r.failed} (${fmt(100 * r.failed_rate, 2)} %) | ` +
        `${fmt(r.avg_ms, 2)} | ${fmt(r.p50_ms, 2)} | ${fmt(r.p90_ms, 2)} | ${fmt(r.p95_ms, 2)} | ${fmt(r.p99_ms, 2)} | ` +
        `${fmt(r.requests_per_second, 1)} |`);
    }
    const out = { stdout: `${lines.join('\n')}\n` };
    const file = env('SUMMARY_FILE', '');
    if (file) out[file] = JSON.stringify({ ...report, k6: data }, null, 1);
    return out;
  }

  return { options, setup, run, handleSummary };
}
