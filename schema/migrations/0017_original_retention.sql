ALTER TABLE `videos` ADD `original_deleted_at` integer;--> statement-breakpoint
CREATE INDEX `videos_original_retention_idx` ON `videos` (`original_deleted_at`,`ready_at`);