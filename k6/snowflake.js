// k6 suite "snowflake" (see k6/README.md, "Suites"): the reference report's test, reproduced. All
// logic lives in lib/bench.js.
import { defineSuite } from './lib/bench.js';

const suite = defineSuite('snowflake');
export const options = suite.options;
export const setup = suite.setup;
export const run = suite.run;
export const handleSummary = suite.handleSummary;
