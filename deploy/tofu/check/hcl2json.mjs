// Prints {"file": <the file as JSON>, ...} for every .tf file given: the deploy module's checker reads it.
import { parse } from "@cdktf/hcl2json";
import { readFileSync } from "node:fs";

const out = {};
for (const file of process.argv.slice(2)) {
  out[file] = await parse(file, readFileSync(file, "utf8"));
}
process.stdout.write(JSON.stringify(out));
