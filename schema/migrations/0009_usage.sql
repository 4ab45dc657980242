CREATE TABLE `usage_daily` (
	`creator_id` text NOT NULL,
	`day` text NOT NULL,
	`minutes_stored` real DEFAULT 0 NOT NULL,
	`bytes_stored` integer DEFAULT 0 NOT NULL,
	`seconds_delivered` real DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`creator_id`, `day`)
);
--> statement-breakpoint
ALTER TABLE `creators` ADD `quota_minutes_stored` real;--> statement-breakpoint
ALTER TABLE `creators` ADD `quota_bytes_stored` integer;--> statement-breakpoint
ALTER TABLE `videos` ADD `stored_bytes` integer;