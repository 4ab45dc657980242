CREATE TABLE `signing_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`creator_id` text NOT NULL,
	`alg` text NOT NULL,
	`public_jwk` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`creator_id`) REFERENCES `creators`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `signing_keys_creator_idx` ON `signing_keys` (`creator_id`);--> statement-breakpoint
ALTER TABLE `videos` ADD `require_signed_urls` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `videos` ADD `allowed_origins` text;