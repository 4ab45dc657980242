ALTER TABLE `renditions` ADD `kind` text DEFAULT 'video' NOT NULL;--> statement-breakpoint
ALTER TABLE `renditions` ADD `complete` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `transcode_jobs` ADD `range_start` real;--> statement-breakpoint
ALTER TABLE `transcode_jobs` ADD `range_end` real;--> statement-breakpoint
ALTER TABLE `transcode_jobs` ADD `result` text;