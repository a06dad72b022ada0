// Another Automerge implementation (JavaScript) editing a gocua household
// document, for tests/cli.rs. Usage:
//   node household.mjs edit IN OUT   writes as a JS app would, prints the new ids
//   node household.mjs read IN       prints the document as JSON
import { readFileSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import * as Automerge from "@automerge/automerge";

const [mode, input, output] = process.argv.slice(2);
const doc = Automerge.load(new Uint8Array(readFileSync(input)));

if (mode === "read") {
  process.stdout.write(JSON.stringify(doc) + "\n");
} else if (mode === "edit") {
  const memberId = randomUUID();
  const visitId = randomUUID();
  const badKey = "visit-from-js";
  const now = "2026-03-02T02:30:00Z";
  // Plain JS values: strings become text objects, whole numbers integers.
  const next = Automerge.change(doc, { message: JSON.stringify({ action: "js.edit", by: "js" }) }, (d) => {
    d.phone = "0987654321";
    d.members[memberId] = {
      name: "Phạm Thị Hương",
      birth_year: 1990,
      gender: "female",
      bank_account: true,
      created_at: now,
      created_by: "js",
    };
    d.visits[visitId] = {
      visited_at: now,
      team_id: "js-team",
      volunteer_ids: "js-volunteer",
      person_ids: memberId,
      services: { cccd: "done" },
      duration_minutes: 20,
      recorded_at: now,
      recorded_by: "js",
    };
    d.visits[badKey] = {
      visited_at: now,
      services: { cccd: "done" },
      recorded_at: now,
      recorded_by: "js",
    };
  });
  writeFileSync(output, Automerge.save(next));
  process.stdout.write(JSON.stringify({ member_id: memberId, visit_id: visitId, bad_key: badKey }) + "\n");
} else {
  process.stderr.write("usage: node household.mjs edit IN OUT | read IN\n");
  process.exit(2);
}
