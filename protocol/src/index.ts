/**
 * `@edgeloop/protocol`: the contract every edgeloop part imports. Web Standards only: it runs
 * unchanged in Node and in browsers.
 */

export * from './bytes.js';
export * from './codec.js';
export * from './errors.js';
export * from './frame.js';
export * from './ids.js';
export * from './limits.js';
export * from './sampling/budget.js';
export * from './sampling/config.js';
export * from './sampling/rng.js';
export * from './sampling/sampler.js';
export * from './sampling/scores.js';
export * from './sampling/strategies.js';
export * from './schemas/announcement.js';
export * from './schemas/common.js';
export * from './schemas/device-config.js';
export * from './schemas/manifest.js';
export * from './schemas/sample-ack.js';
export * from './schemas/sample-envelope.js';
export * from './schemas/status.js';
export * from './schemas/telemetry.js';
export * from './status-message.js';
export * from './telemetry-window.js';
export * from './topics.js';
export * from './tuf/index.js';
