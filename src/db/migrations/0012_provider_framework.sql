CREATE TABLE "institutions" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"provider_institution_id" text NOT NULL,
	"name" text NOT NULL,
	"country" text NOT NULL,
	"methods" text[] NOT NULL,
	"products" text[] NOT NULL,
	"logo" text,
	"primary_color" text,
	"url" text,
	"always_mfa" boolean DEFAULT false NOT NULL,
	"links_pending_transactions" boolean DEFAULT false NOT NULL,
	"limits" jsonb NOT NULL,
	"synced_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_settings" (
	"application_id" text NOT NULL,
	"provider" text NOT NULL,
	"settings_enc" text NOT NULL,
	"shown" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "provider_settings_application_id_provider_pk" PRIMARY KEY("application_id","provider")
);
--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "provider_institution_id" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "item_id" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "provider_cursor" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "link_reference_enc" text;--> statement-breakpoint
ALTER TABLE "provider_calls" ADD COLUMN "provider" text;--> statement-breakpoint
ALTER TABLE "provider_calls" ADD COLUMN "request_id" text;--> statement-breakpoint
ALTER TABLE "provider_calls" ADD COLUMN "retry_after_seconds" integer;--> statement-breakpoint
ALTER TABLE "provider_settings" ADD CONSTRAINT "provider_settings_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "institutions_provider_ref_idx" ON "institutions" USING btree ("provider","provider_institution_id");--> statement-breakpoint
CREATE INDEX "institutions_name_idx" ON "institutions" USING btree (lower("name"),"id");--> statement-breakpoint
CREATE INDEX "institutions_country_name_idx" ON "institutions" USING btree ("country",lower("name"),"id");--> statement-breakpoint
CREATE INDEX "connections_item_idx" ON "connections" USING btree ("provider","item_id");