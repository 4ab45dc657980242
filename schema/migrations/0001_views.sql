CREATE TABLE `view_aggregate_shards` (
	`video_id` text NOT NULL,
	`hour_bucket` integer NOT NULL,
	`shard_index` integer NOT NULL,
	`unique_viewers` integer NOT NULL,
	PRIMARY KEY(`video_id`, `hour_bucket`, `shard_index`)
);
--> statement-breakpoint
CREATE TABLE `view_pending_shards` (
	`shard_id` text PRIMARY KEY NOT NULL,
	`video_id` text NOT NULL,
	`shard_index` integer NOT NULL,
	`generation` integer NOT NULL,
	`pending_since` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `view_pending_shards_since_idx` ON `view_pending_shards` (`pending_since`);--> statement-breakpoint
CREATE TABLE `view_shard_configs` (
	`video_id` text PRIMARY KEY NOT NULL,
	`shard_count` integer NOT NULL,
	`promoted_at` integer NOT NULL
);
