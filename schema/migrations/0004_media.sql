CREATE TABLE `captions` (
	`video_id` text NOT NULL,
	`lang` text NOT NULL,
	`label` text NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`cue_count` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`video_id`, `lang`),
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `media_downloads` (
	`video_id` text NOT NULL,
	`rendition` text NOT NULL,
	`status` text NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`lease_until` integer,
	`method` text,
	`size` integer,
	`duration` real,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer,
	PRIMARY KEY(`video_id`, `rendition`),
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `videos` ADD `poster_time` real;--> statement-breakpoint
ALTER TABLE `videos` ADD `clip_of` text;--> statement-breakpoint
ALTER TABLE `videos` ADD `clip_start` real;--> statement-breakpoint
ALTER TABLE `videos` ADD `clip_end` real;--> statement-breakpoint
CREATE INDEX `videos_clip_of_idx` ON `videos` (`clip_of`);