CREATE TABLE `golden_sets` (
	`model` text PRIMARY KEY NOT NULL,
	`dataset_id` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `pipeline_runs` (
	`firing_id` text PRIMARY KEY NOT NULL,
	`model` text NOT NULL,
	`step` text NOT NULL,
	`state` text NOT NULL,
	`outputs` text NOT NULL,
	`error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `pipeline_runs_state_idx` ON `pipeline_runs` (`state`,`created_at`);--> statement-breakpoint
CREATE TABLE `rollouts` (
	`id` text PRIMARY KEY NOT NULL,
	`firing_id` text,
	`model` text NOT NULL,
	`release_version` integer NOT NULL,
	`model_version` integer NOT NULL,
	`previous_release_version` integer,
	`previous_model_version` integer,
	`state` text NOT NULL,
	`cohort_percent` real NOT NULL,
	`started_at` text NOT NULL,
	`watch_until` text NOT NULL,
	`rollback_release_version` integer,
	`decision` text,
	`actor` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rollouts_firing_idx` ON `rollouts` (`firing_id`);--> statement-breakpoint
CREATE INDEX `rollouts_model_idx` ON `rollouts` (`model`,`started_at`);--> statement-breakpoint
CREATE TABLE `training_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`firing_id` text,
	`model` text NOT NULL,
	`run_id` text,
	`dataset_id` text NOT NULL,
	`params` text NOT NULL,
	`state` text NOT NULL,
	`lease_id` text,
	`lease_owner` text,
	`lease_expires_at` text,
	`attempts` integer NOT NULL,
	`max_attempts` integer NOT NULL,
	`error` text,
	`result` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `training_jobs_firing_idx` ON `training_jobs` (`firing_id`);--> statement-breakpoint
CREATE INDEX `training_jobs_state_idx` ON `training_jobs` (`state`,`created_at`);--> statement-breakpoint
CREATE TABLE `gate_decisions` (
	`id` text PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`model` text NOT NULL,
	`champion_version` integer,
	`challenger_version` integer,
	`challenger_run_id` text,
	`decision` text NOT NULL,
	`reasons` text NOT NULL,
	`examples` integer NOT NULL,
	`champion_accuracy` real NOT NULL,
	`challenger_accuracy` real NOT NULL,
	`difference` real NOT NULL,
	`ci_low` real NOT NULL,
	`ci_high` real NOT NULL,
	`settings` text NOT NULL,
	`per_class` text NOT NULL,
	`actor` text NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `gate_decisions_model_idx` ON `gate_decisions` (`model`,`at`);--> statement-breakpoint
CREATE TABLE `mlflow_sync` (
	`kind` text NOT NULL,
	`key` text NOT NULL,
	`mlflow_id` text,
	`cursor` integer DEFAULT 0 NOT NULL,
	`state` text NOT NULL,
	`done` integer DEFAULT false NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`kind`, `key`)
);
--> statement-breakpoint
CREATE TABLE `model_aliases` (
	`model` text NOT NULL,
	`alias` text NOT NULL,
	`version` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`model`, `alias`)
);
--> statement-breakpoint
CREATE TABLE `model_versions` (
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`run_id` text,
	`dataset_hash` text,
	`onnx_key` text NOT NULL,
	`onnx_sha256` text NOT NULL,
	`onnx_bytes` integer NOT NULL,
	`manifest_key` text NOT NULL,
	`labels` text NOT NULL,
	`metrics` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`model`, `version`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `model_versions_run_idx` ON `model_versions` (`run_id`);--> statement-breakpoint
CREATE TABLE `run_artifacts` (
	`run_id` text NOT NULL,
	`name` text NOT NULL,
	`object_key` text NOT NULL,
	`sha256` text NOT NULL,
	`bytes` integer NOT NULL,
	`content_type` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`run_id`, `name`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `run_metrics` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`key` text NOT NULL,
	`value` real NOT NULL,
	`step` integer NOT NULL,
	`epoch` integer,
	`at` text NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `run_metrics_run_idx` ON `run_metrics` (`run_id`,`key`,`step`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`experiment` text NOT NULL,
	`created_at` text NOT NULL,
	`status` text NOT NULL,
	`params` text NOT NULL,
	`dataset_id` text,
	`dataset_hash` text,
	`code_version` text,
	`backend` text,
	`hardware` text,
	`started_at` text,
	`finished_at` text,
	`duration_ms` integer,
	`cpu_seconds` real,
	`gpu_seconds` real,
	`energy_kwh` real,
	`co2_g` real,
	`error` text,
	`created_by` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `runs_created_idx` ON `runs` (`created_at`);--> statement-breakpoint
CREATE INDEX `runs_experiment_idx` ON `runs` (`experiment`,`created_at`);--> statement-breakpoint
CREATE TABLE `stage_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model` text NOT NULL,
	`version` integer NOT NULL,
	`event` text NOT NULL,
	`from_alias` text,
	`to_alias` text,
	`replaced_version` integer,
	`actor` text NOT NULL,
	`reason` text NOT NULL,
	`at` text NOT NULL,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `stage_history_model_idx` ON `stage_history` (`model`,`id`);--> statement-breakpoint
CREATE TABLE `telemetry_windows` (
	`device_id` text NOT NULL,
	`window_start` text NOT NULL,
	`window_end` text NOT NULL,
	`received_at` text NOT NULL,
	`model_name` text NOT NULL,
	`model_version` integer NOT NULL,
	`total` integer NOT NULL,
	`low_confidence_threshold` real NOT NULL,
	`low_confidence_rate` real NOT NULL,
	`latency_p50` real NOT NULL,
	`latency_p95` real NOT NULL,
	`confidence_histogram` text NOT NULL,
	`classes` text NOT NULL,
	PRIMARY KEY(`device_id`, `window_start`)
);
--> statement-breakpoint
CREATE INDEX `telemetry_end_idx` ON `telemetry_windows` (`window_end`);--> statement-breakpoint
CREATE INDEX `telemetry_model_idx` ON `telemetry_windows` (`model_name`,`model_version`,`window_end`);--> statement-breakpoint
CREATE TABLE `trigger_firings` (
	`id` text PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`kind` text NOT NULL,
	`reason` text NOT NULL,
	`inputs` text NOT NULL,
	`others` text NOT NULL,
	`actor` text,
	`since_training_at` text,
	`since_dataset_id` text
);
--> statement-breakpoint
CREATE INDEX `trigger_firings_at_idx` ON `trigger_firings` (`at`);--> statement-breakpoint
CREATE INDEX `trigger_firings_kind_idx` ON `trigger_firings` (`kind`,`at`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`subject` text,
	`detail` text
);
--> statement-breakpoint
CREATE INDEX `audit_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE TABLE `dataset_items` (
	`dataset_id` text NOT NULL,
	`sample_id` text NOT NULL,
	`label` text NOT NULL,
	`split` text NOT NULL,
	PRIMARY KEY(`dataset_id`, `sample_id`),
	FOREIGN KEY (`dataset_id`) REFERENCES `datasets`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`sample_id`) REFERENCES `samples`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `datasets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`labels` text NOT NULL,
	`item_count` integer NOT NULL,
	`stats` text NOT NULL,
	`parent_id` text,
	`note` text
);
--> statement-breakpoint
CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`created_by` text NOT NULL,
	`revoked_at` text,
	`status` text DEFAULT 'unknown' NOT NULL,
	`last_seen_at` text,
	`model` text,
	`note` text
);
--> statement-breakpoint
CREATE TABLE `labels` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`sample_id` text NOT NULL,
	`label` text NOT NULL,
	`source` text NOT NULL,
	`action` text NOT NULL,
	`labelled_by` text NOT NULL,
	`labelled_at` text NOT NULL,
	FOREIGN KEY (`sample_id`) REFERENCES `samples`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `labels_sample_idx` ON `labels` (`sample_id`,`id`);--> statement-breakpoint
CREATE TABLE `sample_blobs` (
	`sample_id` text PRIMARY KEY NOT NULL,
	`bytes` blob NOT NULL,
	`staged_at` text NOT NULL,
	FOREIGN KEY (`sample_id`) REFERENCES `samples`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `samples` (
	`id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`device_id` text,
	`origin` text,
	`received_at` text NOT NULL,
	`captured_at` text,
	`mime` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`byte_length` integer NOT NULL,
	`object_key` text NOT NULL,
	`model_name` text,
	`model_version` integer,
	`predicted_label` text,
	`confidence` real,
	`sampling_strategy` text,
	`sampling_score` real,
	`inclusion_probability` real,
	`audit` integer DEFAULT false NOT NULL,
	`pre_label` text,
	`pre_confidence` real,
	`pre_model` text,
	`uncertainty` real,
	`queue_state` text DEFAULT 'pending' NOT NULL,
	`extra` text
);
--> statement-breakpoint
CREATE INDEX `samples_device_idx` ON `samples` (`device_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `samples_received_idx` ON `samples` (`received_at`);