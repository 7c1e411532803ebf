// Any scenario by name: k6 run -e SCENARIO=soak k6/bench.js (see k6/README.md).
import { defineScenario, SCENARIO_NAMES } from './lib/bench.js';

if (!__ENV.SCENARIO) throw new Error(`set SCENARIO to one of ${SCENARIO_NAMES.join(', ')}`);
const scenario = defineScenario(__ENV.SCENARIO);
export const options = scenario.options;
export const setup = scenario.setup;
export const run = scenario.run;
export const handleSummary = scenario.handleSummary;
