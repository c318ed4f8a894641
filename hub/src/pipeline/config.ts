/**
 * Settings of the training pipeline. The lead merges {@link PipelineConfig} into the hub's
 * `Config` as `pipeline`; {@link defaultPipelineConfig} holds the documented defaults.
 */
import { defaultJobsConfig, type JobsConfig } from '../jobs/types.js';
import { defaultRolloutConfig, type RolloutConfig } from '../rollout/config.js';

export interface PipelineConfig {
  /** The model the pipeline trains and ships (the registry and release name). Default `default`. */
  model: string;
  /** Train only on these labels (absent: every label in the data). */
  labels?: string[];
  /** Job params handed to the worker: `epochs`, `batchSize`, `learningRate`, `seed`, `preset`, `backend`… */
  trainParams: Record<string, string | number | boolean>;
  /**
   * With no champion yet there is nothing to compare with: the first model becomes champion when
   * its accuracy on its own snapshot's test split reaches this. Default 0.5.
   */
  minFirstAccuracy: number;
  /** Recent reviewed hard samples added to the golden set at each gate. */
  hardSamples: {
    /** At most this many, newest first. Default 500. */
    max: number;
    /** Received within this many days. Default 30. */
    windowDays: number;
    /** A device sample is "hard" when the model's confidence was below this. Default 0.6. */
    maxConfidence: number;
  };
  /** How often the pipeline advances its runs. Default 2 s. */
  tickMs: number;
  jobs: JobsConfig;
  rollout: RolloutConfig;
}

export const defaultPipelineConfig: PipelineConfig = {
  model: 'default',
  trainParams: { epochs: 10 },
  minFirstAccuracy: 0.5,
  hardSamples: { max: 500, windowDays: 30, maxConfidence: 0.6 },
  tickMs: 2_000,
  jobs: defaultJobsConfig,
  rollout: defaultRolloutConfig,
};
