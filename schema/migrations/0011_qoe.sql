CREATE TABLE `qoe_aggregates` (
	`video_id` text NOT NULL,
	`hour_bucket` integer NOT NULL,
	`country` text NOT NULL,
	`browser` text NOT NULL,
	`os` text NOT NULL,
	`views` integer DEFAULT 0 NOT NULL,
	`started` integer DEFAULT 0 NOT NULL,
	`startup_ms_sum` real DEFAULT 0 NOT NULL,
	`exits_before_start` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`rebuffer_count` integer DEFAULT 0 NOT NULL,
	`stalled_ms` real DEFAULT 0 NOT NULL,
	`watched_ms` real DEFAULT 0 NOT NULL,
	`played_bits` real DEFAULT 0 NOT NULL,
	`switches` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`video_id`, `hour_bucket`, `country`, `browser`, `os`)
);
--> statement-breakpoint
CREATE TABLE `qoe_startup_buckets` (
	`video_id` text NOT NULL,
	`hour_bucket` integer NOT NULL,
	`country` text NOT NULL,
	`browser` text NOT NULL,
	`os` text NOT NULL,
	`bucket` integer NOT NULL,
	`sessions` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`video_id`, `hour_bucket`, `country`, `browser`, `os`, `bucket`)
);
