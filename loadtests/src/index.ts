/**
 * `@edgeloop/loadtests`: the fleet simulator (real edge agents, many per process), pluggable input
 * shifts, the SIMULATED labelling oracle, and the demo that runs them against a hub.
 */
export { type DemoOptions, progressLine, runDemo } from './demo.js';
export { DigitStream, type StreamImage } from './digit-stream.js';
export { LoadtestsError, type LoadtestsErrorCode } from './errors.js';
export { type Fleet, type FleetOptions, startFleet } from './fleet.js';
export { type AgentStats, type FleetStats, ROLLING_WINDOW, type Tally, type VersionStats } from './fleet-stats.js';
export { fetchInitialRoot, type HubClient, HubRequestError, hubClient } from './hub-client.js';
export { ORACLE_ACTOR, ORACLE_TAG, type Oracle, type OracleOptions, startOracle } from './oracle.js';
export { preinstallModel } from './preinstall.js';
export { type Digit, digitPng, mnistDigits, SHIFTS, type Shift, seededRng, shiftByName } from './shifts.js';
