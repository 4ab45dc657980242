CREATE TABLE `live_inputs` (
	`id` text PRIMARY KEY NOT NULL,
	`creator_id` text NOT NULL,
	`title` text NOT NULL,
	`stream_key_hash` text NOT NULL,
	`status` text DEFAULT 'idle' NOT NULL,
	`recording_mode` text DEFAULT 'automatic' NOT NULL,
	`latency` text DEFAULT 'standard' NOT NULL,
	`dvr_window_seconds` integer NOT NULL,
	`reconnect_window_seconds` integer NOT NULL,
	`video_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`creator_id`) REFERENCES `creators`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `live_inputs_creator_idx` ON `live_inputs` (`creator_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `live_inputs_key_idx` ON `live_inputs` (`stream_key_hash`);--> statement-breakpoint
ALTER TABLE `renditions` ADD `discontinuities` text;--> statement-breakpoint
ALTER TABLE `renditions` ADD `window_start` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `videos` ADD `live_input_id` text;