export { demoPlant, DEFAULT_DEMO_LOTS, DEFAULT_DEMO_SEED, DEFAULT_SAMPLES_PER_PARAMETER, MIN_DEMO_LOTS } from './plant.js';
export type { DemoCounts, DemoIncident, DemoOptions, DemoPlant } from './plant.js';
