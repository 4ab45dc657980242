CREATE TABLE `audio_tracks` (
	`video_id` text NOT NULL,
	`lang` text NOT NULL,
	`label` text NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`status` text NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`lease_until` integer,
	`started_at` integer,
	`source_url` text,
	`input_duration` real,
	`warning` text,
	`packaging` text,
	`codecs` text,
	`bandwidth` integer,
	`average_bandwidth` integer,
	`segment_durations` text,
	`bytes` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer,
	PRIMARY KEY(`video_id`, `lang`),
	FOREIGN KEY (`video_id`) REFERENCES `videos`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
ALTER TABLE `videos` ADD `original_language` text DEFAULT 'und' NOT NULL;