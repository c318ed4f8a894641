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
CREATE INDEX `samples_queue_idx` ON `samples` (`queue_state`,`uncertainty`);--> statement-breakpoint
CREATE INDEX `samples_received_idx` ON `samples` (`received_at`);