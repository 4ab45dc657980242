ALTER TABLE `renditions` ADD `discontinuities` text;--> statement-breakpoint
ALTER TABLE `renditions` ADD `window_start` integer DEFAULT 0 NOT NULL;