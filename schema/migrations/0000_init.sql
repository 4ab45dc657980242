CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`creator_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`creator_id`) REFERENCES `creators`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_uq` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `creators` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `renditions` (
	`video_id` text NOT NULL,
	`name` text NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`bandwidth` integer NOT NULL,
	`average_bandwidth` integer NOT NULL,
	`codecs` text NOT NULL,
	`frame_rate` real,
	`segment_count` integer NOT NULL,
	`segment_durations` text NOT NULL,
	`total_bytes` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`video_id`, `name`),
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `transcode_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`video_id` text NOT NULL,
	`unit` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`lease_until` integer,
	`progress` real DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`started_at` integer,
	`completed_at` integer,
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `transcode_jobs_video_unit_uq` ON `transcode_jobs` (`video_id`,`unit`);--> statement-breakpoint
CREATE TABLE `videos` (
	`id` text PRIMARY KEY NOT NULL,
	`creator_id` text NOT NULL,
	`title` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`visibility` text DEFAULT 'public' NOT NULL,
	`status` text NOT NULL,
	`error` text,
	`source_size` integer,
	`source_sha256` text,
	`duration` real,
	`width` integer,
	`height` integer,
	`frame_rate` real,
	`rotation` integer,
	`video_codec` text,
	`audio_codec` text,
	`has_audio` integer,
	`view_count` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`ready_at` integer,
	`deleted_at` integer,
	FOREIGN KEY (`creator_id`) REFERENCES `creators`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `videos_creator_created_idx` ON `videos` (`creator_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `videos_status_idx` ON `videos` (`status`);--> statement-breakpoint
CREATE TABLE `view_aggregates` (
	`video_id` text NOT NULL,
	`hour_bucket` integer NOT NULL,
	`view_count` integer DEFAULT 0 NOT NULL,
	`unique_viewers` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`video_id`, `hour_bucket`)
);
--> statement-breakpoint
CREATE TABLE `view_flushes` (
	`shard_id` text PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL,
	`updated_at` integer DEFAULT 0 NOT NULL
);
