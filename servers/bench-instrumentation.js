// One load window of servers/bench-instrumentation: two scenarios at once, `on` against ON
// and `off` against OFF (the same server with REQUEST_METRICS=on and =off), VUS virtual users
// each sending GET PATH as fast as it is answered, for at most WINDOW seconds and at most
// ITERATIONS requests each. The summary (requests and failures per scenario, the run's
// duration) goes to SUMMARY as JSON.
import http from 'k6/http';

const target = (url) => ({
  executor: 'shared-iterations',
  vus: Number(__ENV.VUS || 16),
  iterations: Number(__ENV.ITERATIONS || 200000),
  maxDuration: `${__ENV.WINDOW || 8}s`,
  gracefulStop: '5s',
  exec: 'hit',
  env: { URL: `${url}${__ENV.PATH_QUERY || '/id'}` },
});

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
