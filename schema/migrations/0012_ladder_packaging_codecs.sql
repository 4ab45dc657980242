ALTER TABLE `renditions` ADD `packaging` text DEFAULT 'ts' NOT NULL;--> statement-breakpoint
ALTER TABLE `videos` ADD `ladder_mode` text DEFAULT 'fixed' NOT NULL;--> statement-breakpoint
ALTER TABLE `videos` ADD `packaging` text DEFAULT 'ts' NOT NULL;--> statement-breakpoint
ALTER TABLE `videos` ADD `codecs` text DEFAULT '["h264"]' NOT NULL;--> statement-breakpoint
ALTER TABLE `videos` ADD `ladder` text;