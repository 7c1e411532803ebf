// k6 scenario "squeeze" (see k6/README.md). All logic lives in lib/bench.js.
import { defineScenario } from './lib/bench.js';

const scenario = defineScenario('squeeze');
export const options = scenario.options;
export const setup = scenario.setup;
export const run = scenario.run;
export const handleSummary = scenario.handleSummary;
