ALTER TABLE `videos` ADD `scheduled_deletion` integer;--> statement-breakpoint
CREATE INDEX `videos_scheduled_deletion_idx` ON `videos` (`scheduled_deletion`);