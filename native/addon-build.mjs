// What both addon build scripts (native/blas/build.mjs, native/rdkit/build.mjs) share: finding
// Node's own headers (so nothing is downloaded), running a compiler with its command shown,
// checking that the built addon loads in a fresh Node, and the --optional exit rule.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The helpers of one addon's build, logging under its name and running in its folder. */
export function addonBuild(name, folder) {
  const log = (message) => console.log(`[${name}] ${message}`);
  const output = join(folder, 'build', 'Release', `${name}.node`);
  const optional = process.argv.includes('--optional');
  return {
    log,
    output,

    /** The prefix whose include/node holds this Node's headers (e.g. /usr for /usr/bin/node). */
    nodeDir() {
      const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].filter(Boolean);
      return candidates.find((dir) => existsSync(join(dir, 'include', 'node', 'node_api.h'))) ?? null;
    },

    run(command, args) {
      log(`${command} ${args.join(' ')}`);
      return spawnSync(command, args, { cwd: folder, stdio: 'inherit' }).status === 0;
    },

    /**
     * Loads the built addon in a fresh Node and logs what `describe` makes of its info(); false
     * (with the loader's first line) when it does not load.
     */
    loads(describe) {
      const script = `console.log(JSON.stringify(require(${JSON.stringify(output)}).info()))`;
      const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      if (result.status !== 0) {
        log(`built, but it does not load: ${(result.stderr || '').trim().split('\n')[0]}`);
        return false;
      }
      log(describe(JSON.parse(result.stdout)));
      return true;
    },

    /** Ends the script: a failed build fails it unless --optional (postinstall) was given. */
    exit(ok) {
      process.exit(ok || optional ? 0 : 1);
    },
  };
}
