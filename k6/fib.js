// k6 suite "fib" (see k6/README.md, "Suites"): the reference report's test, reproduced. All
// logic lives in lib/bench.js.
import { defineSuite } from './lib/bench.js';

const suite = defineSuite('fib');
export const options = suite.options;
export const setup = suite.setup;
export const run = suite.run;
export const handleSummary = suite.handleSummary;
