// k6 scenario "hpa" (see k6/README.md). All logic lives in lib/bench.js.
import { defineScenario } from './lib/bench.js';

const scenario = defineScenario('hpa');
export const options = scenario.options;
export const setup = scenario.setup;
export const run = scenario.run;
export const handleSummary = scenario.handleSummary;
