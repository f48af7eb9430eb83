// The bridge as a program, run inside the sandbox:
//   node bridge-main.js --fd 3 --port 18080 -- COMMAND [ARGS...]            (bubblewrap: inherited fd)
//   node bridge-main.js --fifo-in /E/to-bridge --fifo-out /E/from-bridge --port 3128 -- COMMAND ...
//                                                                           (containers: two named pipes)
// Containers run it as one CommonJS bundle (dist/src/egress/bridge-main.bundle.cjs, built by
// scripts/bundle.ts) bind-mounted with the host's node: it cannot load sibling modules there.
// Without --fd the command simply runs (no network). Exits with the command's status (128 + signal
// when it was killed), 127/126 when it could not be started, 2 on a usage error.
import { runBridge } from "./bridge.js";

// No top-level await: the CommonJS bundle cannot have one.
void runBridge(process.argv.slice(2)).then((status) => process.exit(status));
