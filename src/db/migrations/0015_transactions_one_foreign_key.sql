CREATE UNIQUE INDEX "accounts_owner_idx" ON "accounts" USING btree ("id","connection_id","user_id","application_id");--> statement-breakpoint
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_connection_id_connections_id_fk";
--> statement-breakpoint
ALTER TABLE "transactions" DROP CONSTRAINT "transactions_account_id_accounts_id_fk";
--> statement-breakpoint
ALTER TABLE "transactions" ADD CONSTRAINT "transactions_account_fk" FOREIGN KEY ("account_id","connection_id","user_id","application_id") REFERENCES "public"."accounts"("id","connection_id","user_id","application_id") ON DELETE cascade ON UPDATE no action;
