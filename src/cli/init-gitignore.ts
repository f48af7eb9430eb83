// Keeping `init`'s private files out of version control: the local settings layer (it holds the
// literal secrets init moves out of the project layer) and the backups that hold them too. Only where
// git would look: a `.gitignore` here, or a git repository around this directory.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

/**
 * What to add to `./.gitignore` so the local layer (and backups holding its secrets or the source's)
 * stays out of version control: only when there is a `.gitignore` or a git repository here.
 */
export function gitIgnorePlan(cwd: string, localFile: string, sourceFile: string, secretsMoved: boolean, localExisted: boolean): { file: string; lines: string[]; none?: true } {
  const file = join(cwd, ".gitignore");
  if (!existsSync(file) && !insideGitRepository(cwd)) return { file, lines: [], none: true };
  const rel = (p: string) => relative(cwd, p).split("\\").join("/");
  const wanted = [rel(localFile)];
  if (localExisted) wanted.push(`${rel(localFile)}.bak-*`);
  const src = rel(sourceFile);
  if (secretsMoved && !src.startsWith("../") && !isAbsolute(src)) wanted.push(`${src}.bak-*`);
  let have: string[] = [];
  try {
    have = readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim());
  } catch {
    // no .gitignore yet
  }
  return { file, lines: wanted.filter((l) => !have.includes(l) && !have.includes(`/${l}`)) };
}

function insideGitRepository(dir: string): boolean {
  for (let d = resolve(dir), i = 0; i < 256; d = dirname(d), i++) {
    if (existsSync(join(d, ".git"))) return true;
    if (dirname(d) === d) return false;
  }
  return false;
}

export function appendLines(file: string, lines: string[]): void {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  writeFileSync(file, `${text}${sep}# mcp-warden init: private settings, and backups that hold secrets\n${lines.join("\n")}\n`);
}
