// The bridge as a program, run inside the sandbox:
//   node bridge-main.js --fd 3 --port 18080 -- COMMAND [ARGS...]
// Without --fd the command simply runs (no network). Exits with the command's status (128 + signal
// when it was killed), 127/126 when it could not be started, 2 on a usage error.
import { runBridge } from "./bridge.js";

const status = await runBridge(process.argv.slice(2));
process.exit(status);
