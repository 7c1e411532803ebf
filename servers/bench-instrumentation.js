// One load window of servers/bench-instrumentation: two scenarios at once, `on` against ON
// and `off` against OFF (the same server with REQUEST_METRICS=on and =off), VUS virtual users
// each sending GET PATH_QUERY, for at most WINDOW seconds (and ITERATIONS or RATE × WINDOW
// requests) each. The summary (requests and failures per scenario, the run's
// duration) goes to SUMMARY as JSON.
import http from 'k6/http';

// Without RATE, each scenario sends as fast as it is answered (shared-iterations); with RATE,
// exactly RATE requests per second each (constant-arrival-rate), the same load on both.
const target = (url) => {
  const common = { gracefulStop: '5s', exec: 'hit', env: { URL: `${url}${__ENV.PATH_QUERY || '/id'}` } };
  const vus = Number(__ENV.VUS || 16);
  if (__ENV.RATE) {
    return { ...common, executor: 'constant-arrival-rate', rate: Number(__ENV.RATE), timeUnit: '1s',
      duration: `${__ENV.WINDOW || 8}s`, preAllocatedVUs: vus, maxVUs: vus };
  }
  return { ...common, executor: 'shared-iterations', vus, iterations: Number(__ENV.ITERATIONS || 200000),
    maxDuration: `${__ENV.WINDOW || 8}s` };
};

// FIRST says which scenario k6 starts first (alternated round by round).
const names = __ENV.FIRST === 'off' ? ['off', 'on'] : ['on', 'off'];
const urls = { on: __ENV.ON, off: __ENV.OFF };
const scenarios = {};
const thresholds = {};
for (const name of names) {
  scenarios[name] = target(urls[name]);
  // Thresholds that always pass, so that the summary has the per-scenario submetrics.
  thresholds[`http_reqs{scenario:${name}}`] = ['count>=0'];
  thresholds[`http_req_failed{scenario:${name}}`] = ['rate>=0'];
}

export const options = {
  scenarios,
  thresholds,
  discardResponseBodies: true,
  summaryTrendStats: ['avg', 'p(99)'],
};

export function hit() {
  http.get(__ENV.URL);
}

export function handleSummary(data) {
  const summary = { duration_ms: data.state.testRunDurationMs };
  for (const name of names) {
    const reqs = data.metrics[`http_reqs{scenario:${name}}`];
    const failed = data.metrics[`http_req_failed{scenario:${name}}`];
    summary[name] = { requests: reqs ? reqs.values.count : 0, failed: failed ? failed.values.passes : 0 };
  }
  return { [__ENV.SUMMARY]: JSON.stringify(summary) };
}
